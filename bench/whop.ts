// `npm run bench -- whop [--affiliates 10000] [--payments 100000] [--limit 600] [--throttled-pages 3]`:
// the Whop reconciliation's payments pass (activities/whop.ts, page by page as its workflow runs it)
// through the official SDK against the stateful fake Whop (test/support/fake-whop.ts), over
// `affiliates` referrers with a Whop affiliate and an override each and `payments` paid checkouts of
// their referees (each buyer's edge and checkout seeded in PostgreSQL):
//   1. throttled: the fake refusing beyond `limit` requests per minute per operation (Whop's
//      documented 600), the client set to the same limit, the first `throttled-pages` pages of the
//      first pass: requests per minute per operation next to the limit, and the 429s seen (must be 0);
//   2. unthrottled, the rest of the first pass from where 1 stopped: every payment recorded
//      (PostgreSQL) and its affiliate fee fetched once; time, payments/s and requests/s per operation;
//   3. unthrottled re-poll from an empty cursor: everything known, nothing written, no fee asked
//      again (what a lost cursor costs).
import pg from 'pg';
import { createDatabasePool } from '../db/pool.ts';
import { writeCursor } from '../db/whop.ts';
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
  const throttledPages = flag(args, 'throttled-pages', 3);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const db = await createDatabasePool(databaseUrl, 8);
  const fake = await startFakeWhop();
  const settings = (perMinute: number): WhopSettings => ({
    apiKey: fake.apiKey,
    baseUrl: fake.baseUrl,
    companyId: fake.companyId,
    webhookSecret: fake.webhookSecret,
    rateLimitPerMinute: perMinute,
    maxRetries: 2,
    timeoutMs: 20_000,
  });
  try {
    const seeded = performance.now();
    await seed(pool, fake, affiliates, payments);
    console.log(
      `seeded ${fmt(affiliates)} affiliates and ${fmt(payments)} payments in ${fmt((performance.now() - seeded) / 1000, 1)} s`,
    );

    const pass = async (label: string, perMinute: number, { maxPages = Infinity, fromStart = true } = {}) => {
      const activities = createWhopActivities({ db, whop: createWhop(settings(perMinute)) });
      if (fromStart) await writeCursor(db, 'payments', { after: null, since: null });
      const before = new Map(fake.stats.requests);
      const limitedBefore = fake.stats.rateLimited;
      const started = performance.now();
      let pages = 0;
      let items = 0;
      let recorded = 0;
      for (let done = false; !done && pages < maxPages; pages++) {
        const page = await activities.reconcileWhopPage({ stream: 'payments', pageSize: 100 });
        items += page.items;
        recorded += page.recorded;
        done = page.done;
      }
      const seconds = (performance.now() - started) / 1000;
      const ops = [...fake.stats.requests]
        .map(([op, n]) => [op, n - (before.get(op) ?? 0)] as const)
        .filter(([, n]) => n);
      console.log(
        `${label}: ${fmt(pages)} pages, ${fmt(items)} payments (${fmt(recorded)} recorded) in ${fmt(seconds, 1)} s = ${fmt(items / seconds)} payments/s; 429s: ${fake.stats.rateLimited - limitedBefore}`,
      );
      for (const [op, n] of ops)
        console.log(`  ${op.padEnd(28)} ${fmt(n)} requests, ${fmt(n / seconds, 1)}/s = ${fmt((n / seconds) * 60)}/min`);
    };

    fake.rateLimitPerMinute = limit;
    console.log(`1. the fake refusing beyond ${limit}/min per operation, the client set to ${limit}/min:`);
    await pass(`   first ${throttledPages} pages`, limit, { maxPages: throttledPages });
    fake.rateLimitPerMinute = null;
    await pass('2. unthrottled, the rest of the first pass', 10_000_000, { fromStart: false });
    await pass('3. unthrottled, re-poll (all known)', 10_000_000);
  } finally {
    await fake.close();
    await db.end();
    await pool.end();
  }
}

/** Referrers (each a Whop affiliate with an override on PLAN), buyers with edges and checkouts, their payments. */
async function seed(pool: pg.Pool, fake: FakeWhop, affiliates: number, payments: number): Promise<void> {
  const referrers = await pool.query<{ id: string; email: string }>(
    `WITH ids AS (SELECT gen_random_uuid() AS uid, gen_random_uuid() AS tid, g FROM generate_series(1, $1::int) g),
          t AS (INSERT INTO tenants (id, name) SELECT tid, 'bench-' || g FROM ids)
     INSERT INTO users (id, tenant_id, email, inbox, referral_code)
     SELECT uid, tid, 'ref' || g || '@bench.example', 'ref' || g || '@bench.example', 'r' || substr(md5(uid::text), 1, 12) FROM ids
     RETURNING id, email`,
    [affiliates],
  );
  const codes: string[] = [];
  for (const r of referrers.rows) {
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
    codes.push(a.user.username);
  }
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
  const referrerOrder = await pool.query<{ code: string }>(
    `SELECT a.code FROM users u JOIN whop_affiliates a ON a.user_id = u.id WHERE u.email LIKE 'ref%@bench.example' ORDER BY u.id`,
  );
  for (const b of buyers.rows) {
    const checkout = await call(fake, 'POST', '/checkout_configurations', {
      plan_id: PLAN,
      affiliate_code: referrerOrder.rows[b.n % affiliates]!.code,
      metadata: { rg_buyer_id: b.id, rg_edge_id: b.edge_id },
    });
    fake.pay(checkout.id, { amountCents: 1_000 + (b.n % 9_000) });
  }
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
