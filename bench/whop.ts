// `npm run bench -- whop [--affiliates 10000] [--payments 100000] [--limit 600] [--disagreeing 10]`:
// one whole Whop reconciliation pass (activities/whop.ts, page by page, the three streams in the
// order its workflow runs them) through the official SDK against the stateful fake Whop
// (test/support/fake-whop.ts), the fake refusing beyond `limit` requests per minute per operation
// (Whop's documented 600) and the client set to the same limit. Seeded: `affiliates` referrers, each
// a Whop affiliate with an override on one plan; `payments` paid checkouts of their referees, each
// already recorded on our side as its webhook and its edge's workflow would have left it (a whop-rail
// payment, priced at the override's 20%, its commission mirrored on earnings_whop); on `disagreeing`
// affiliates Whop paid one payment 1 dollar beyond our terms. The pass starts from empty cursors, so
// it re-reads every payment (what a lost cursor costs, the worst case); it asks per-payment fees only
// for the disagreeing affiliates. Printed: time, requests and requests per minute per operation next
// to the limit, the 429s (must be 0), and what the pass listed.
import pg from 'pg';
import { createDatabasePool } from '../db/pool.ts';
import { postTransactions } from '../db/ledger.ts';
import { reconciliationIssues, writeCursor } from '../db/whop.ts';
import { commissionPosting } from '../domain/ledger-postings.ts';
import { WHOP_STREAMS } from '../contracts/whop-reconciliation.ts';
import { createWhopActivities } from '../activities/whop.ts';
import { createWhop, type WhopSettings } from '../platform/whop.ts';
import { startFakeWhop, type FakeWhop } from '../test/support/fake-whop.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt } from './_measure.ts';

const PLAN = 'plan_bench';

export async function run({ databaseUrl, args }: BenchStack): Promise<void> {
  const affiliates = flag(args, 'affiliates', 10_000);
  const payments = flag(args, 'payments', 100_000);
  const limit = flag(args, 'limit', 600);
  const disagreeing = Math.min(flag(args, 'disagreeing', 10), affiliates);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const db = await createDatabasePool(databaseUrl, 8);
  const fake = await startFakeWhop();
  const settings: WhopSettings = {
    apiKey: fake.apiKey,
    baseUrl: fake.baseUrl,
    companyId: fake.companyId,
    webhookSecret: fake.webhookSecret,
    rateLimitPerMinute: limit,
    maxRetries: 2,
    timeoutMs: 20_000,
  };
  try {
    const seeded = performance.now();
    await seed(pool, db, fake, affiliates, payments, disagreeing);
    console.log(
      `seeded ${fmt(affiliates)} affiliates and ${fmt(payments)} payments (${disagreeing} affiliates paid beyond our terms) in ${fmt((performance.now() - seeded) / 1000, 1)} s`,
    );
    for (const stream of ['payments', 'refunds', 'affiliates'] as const)
      await writeCursor(db, stream, { after: null, since: null });

    fake.rateLimitPerMinute = limit;
    const activities = createWhopActivities({ db, whop: createWhop(settings) });
    const before = new Map(fake.stats.requests);
    const limitedBefore = fake.stats.rateLimited;
    console.log(`the fake refusing beyond ${limit}/min per operation, the client set to ${limit}/min:`);
    const started = performance.now();
    for (const stream of WHOP_STREAMS) {
      const streamStarted = performance.now();
      const total = { pages: 0, items: 0, recorded: 0, known: 0, issues: 0 };
      for (let done = false; !done;) {
        const page = await activities.reconcileWhopPage({ stream, pageSize: 100 });
        total.pages += 1;
        total.items += page.items;
        total.recorded += page.recorded;
        total.known += page.known;
        total.issues += page.issues;
        done = page.done;
      }
      console.log(
        `  ${stream.padEnd(10)} ${fmt(total.pages)} pages, ${fmt(total.items)} items (recorded ${fmt(total.recorded)}, known ${fmt(total.known)}, issues ${fmt(total.issues)}) in ${fmt((performance.now() - streamStarted) / 1000, 1)} s`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`pass: ${fmt(seconds, 1)} s; 429s: ${fake.stats.rateLimited - limitedBefore}`);
    for (const [op, n] of [...fake.stats.requests].map(([op, n]) => [op, n - (before.get(op) ?? 0)] as const))
      if (n > 0)
        console.log(
          `  ${op.padEnd(32)} ${fmt(n).padStart(7)} requests, ${fmt(n / seconds, 2)}/s = ${fmt((n / seconds) * 60)}/min over the pass; at most ${fmt(fake.stats.peakPerMinute.get(op) ?? 0)} in one minute (limit ${limit})`,
        );
    const listed = await reconciliationIssues(db, 1_000);
    const kinds = new Map<string, number>();
    for (const i of listed) kinds.set(i.kind, (kinds.get(i.kind) ?? 0) + 1);
    console.log(`listed: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing'}`);
  } finally {
    await fake.close();
    await db.end();
    await pool.end();
  }
}

/** Referrers (each a Whop affiliate with an override on PLAN), buyers with edges and checkouts, their payments. */
async function seed(
  pool: pg.Pool,
  db: Awaited<ReturnType<typeof createDatabasePool>>,
  fake: FakeWhop,
  affiliates: number,
  payments: number,
  disagreeing: number,
): Promise<void> {
  const referrers = await pool.query<{ id: string; email: string }>(
    `WITH ids AS (SELECT gen_random_uuid() AS uid, gen_random_uuid() AS tid, g FROM generate_series(1, $1::int) g),
          t AS (INSERT INTO tenants (id, name) SELECT tid, 'bench-' || g FROM ids)
     INSERT INTO users (id, tenant_id, email, inbox, referral_code)
     SELECT uid, tid, 'ref' || g || '@bench.example', 'ref' || g || '@bench.example', 'r' || substr(md5(uid::text), 1, 12) FROM ids
     RETURNING id, email`,
    [affiliates],
  );
  await inParallel(referrers.rows, 16, async (r) => {
    const a = await call(fake, 'POST', '/affiliates', { company_id: fake.companyId, user_identifier: r.email });
    await call(fake, 'POST', `/affiliates/${a.id}/overrides`, {
      id: a.id,
      override_type: 'standard',
      plan_id: PLAN,
      commission_type: 'percentage',
      commission_value: 20,
      applies_to_payments: 'all_payments',
    });
    await pool.query(`INSERT INTO whop_affiliates (user_id, affiliate_id, code) VALUES ($1, $2, $3)`, [
      r.id,
      a.id,
      a.user.username,
    ]);
  });
  const buyers = await pool.query<{ id: string; edge_id: string; n: number }>(
    `WITH refs AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM users WHERE email LIKE 'ref%@bench.example'),
          ids AS (SELECT gen_random_uuid() AS uid, gen_random_uuid() AS tid, g FROM generate_series(1, $1::int) g),
          t AS (INSERT INTO tenants (id, name) SELECT tid, 'buyer-' || g FROM ids),
          u AS (INSERT INTO users (id, tenant_id, email, inbox, referral_code)
                SELECT uid, tid, 'buyer' || g || '@bench.example', 'buyer' || g || '@bench.example', 'b' || substr(md5(uid::text), 1, 12) FROM ids
                RETURNING id, email),
          e AS (INSERT INTO edges (referrer_id, referee_id, source, kind, phase_at_write, activation_window_days)
                SELECT refs.id, ids.uid, 'partner_code', 'intentional', 'beta', 30
                FROM ids JOIN refs ON refs.i = (ids.g - 1) % $2 JOIN u ON u.id = ids.uid
                RETURNING id, referee_id)
     SELECT e.referee_id AS id, e.id AS edge_id, (ids.g - 1)::int AS n FROM e JOIN ids ON ids.uid = e.referee_id ORDER BY ids.g`,
    [payments, affiliates],
  );
  const referrerOrder = await pool.query<{ code: string; id: string; tenant_id: string }>(
    `SELECT a.code, u.id, u.tenant_id FROM users u JOIN whop_affiliates a ON a.user_id = u.id WHERE u.email LIKE 'ref%@bench.example' ORDER BY u.id`,
  );
  const paid: { id: string; buyer: string; edge: string; referrer: string; tenant: string; amount: number }[] = [];
  await inParallel(buyers.rows, 16, async (b) => {
    const referrer = referrerOrder.rows[b.n % affiliates]!;
    const checkout = await call(fake, 'POST', '/checkout_configurations', {
      plan_id: PLAN,
      affiliate_code: referrer.code,
      metadata: { rg_buyer_id: b.id, rg_edge_id: b.edge_id },
    });
    const amount = 1_000 + (b.n % 9_000);
    const p = fake.pay(checkout.id, { amountCents: amount });
    paid.push({ id: p.id, buyer: b.id, edge: b.edge_id, referrer: referrer.id, tenant: referrer.tenant_id, amount });
  });
  // Our side as webhooks and the edges' workflows leave it: whop-rail payments priced at 20%, mirrored on earnings_whop.
  for (let i = 0; i < paid.length; i += 1_000) {
    const chunk = paid.slice(i, i + 1_000);
    const pricing = (p: (typeof chunk)[number]) =>
      JSON.stringify({
        status: 'earned',
        terms: { salesBps: 2_000, creditBps: 0, recurringMonths: null },
        beneficiary: { tenantId: p.tenant, referrerUserId: p.referrer },
      });
    await pool.query(
      `WITH x AS (SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::int8[], $5::jsonb[]) AS x(id, buyer, edge, amount, pricing))
       , p AS (INSERT INTO payments (id, user_id, amount_cents, currency, paid_at, edge_id, rail, commission_status, priced_at, pricing)
               SELECT id, buyer, amount, 'USD', now(), edge, 'whop', 'earned', now(), pricing FROM x RETURNING id)
       INSERT INTO whop_payments (payment_id) SELECT id FROM p`,
      [
        chunk.map((p) => p.id),
        chunk.map((p) => p.buyer),
        chunk.map((p) => p.edge),
        chunk.map((p) => p.amount),
        chunk.map(pricing),
      ],
    );
    await postTransactions(
      db,
      chunk.map((p) =>
        commissionPosting({
          paymentId: p.id,
          edgeId: p.edge,
          to: { tenantId: p.tenant, referrerUserId: p.referrer },
          earned: { cash: Math.floor((p.amount * 2_000) / 10_000), credits: 0 },
          rail: 'whop',
        })!,
      ),
    );
  }
  // Whop pays a dollar beyond our terms on one payment of each of the first `disagreeing` affiliates.
  const seen = new Set<string>();
  for (const p of paid) {
    if (seen.size >= disagreeing) break;
    if (seen.has(p.referrer)) continue;
    seen.add(p.referrer);
    fake.setAffiliateFee(p.id, fake.affiliateFeeOf(p.id) + 100);
  }
}

async function inParallel<T>(items: readonly T[], concurrency: number, each: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

async function call(fake: FakeWhop, method: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${fake.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
  return res.json();
}
