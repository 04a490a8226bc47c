// `npm run bench -- payouts [--partners 10000] [--throttled 2000]`: a payout cycle over `partners`
// partners with payable balances, the worker as its own process paying through the official
// Stripe SDK against the stateful fake Stripe (test/support/fake-stripe.ts):
//   1. unthrottled: payouts/s over the whole cycle (pages from PostgreSQL, transfers with bounded
//      concurrency, ledger writes), next to the bare rate of SDK transfers against the same fake at
//      the same concurrency from this process (no database, no Temporal);
//   2. throttled to Stripe's live limit (100 requests/s, 429 beyond it): the share of the limit used,
//      failed payouts (must be 0), 429s seen and retried, duplicate transfers (must be 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import Stripe from 'stripe';
import { createDatabasePool } from '../db/pool.ts';
import { postTransactions } from '../db/ledger.ts';
import { partnerEarnings, commissionExpense, type LedgerPosting } from '../domain/ledger-postings.ts';
import type { PayoutFrequency } from '../domain/partner-settings.ts';
import { startCycle } from '../services/payouts.ts';
import { startFakeStripe } from '../test/support/fake-stripe.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt, measure } from './_measure.ts';

const root = join(import.meta.dirname, '..');
const CONCURRENCY = 32;

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const partners = flag(args, 'partners', 10_000);
  const throttled = flag(args, 'throttled', 2_000);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const db = await createDatabasePool(databaseUrl, 8);
  const fake = await startFakeStripe();
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const taskQueue = 'bench-payouts';

  /** `n` approved Stripe partners on `frequency`, each with 5,000-25,000 cents payable. */
  async function seed(n: number, frequency: PayoutFrequency): Promise<void> {
    const { rows } = await pool.query<{ tenant_id: string; account: string; amount: string }>(
      `
      WITH t AS (INSERT INTO tenants (name) SELECT 'bench-' || $2 || '-' || g FROM generate_series(1, $1::int) g RETURNING id)
      INSERT INTO partners (tenant_id, sales_commission_bps, credit_commission_bps, recurring, recurring_months, referral_code, payout_method,
                            payout_threshold_cents, payout_frequency, stripe_account_id, stripe_account_status, approved, approved_by, approved_at)
      SELECT id, 2000, 500, true, 12, 'b' || substr(md5(id::text), 1, 12), 'stripe', 5000, $2, 'acct_' || substr(md5(id::text), 1, 16), 'enabled', true, 'bench', now() FROM t
      RETURNING tenant_id, stripe_account_id AS account, (5000 + (random() * 20000)::int)::text AS amount`,
      [n, frequency],
    );
    for (const r of rows) fake.accounts.set(r.account, { payoutsEnabled: true });
    for (let i = 0; i < rows.length; i += 500) {
      const postings: LedgerPosting[] = rows.slice(i, i + 500).map((r) => ({
        key: `bench-earned:${r.tenant_id}`,
        kind: 'commission',
        entries: [
          { ...commissionExpense, amount: -Number(r.amount) },
          { ...partnerEarnings(r.tenant_id, 'payable'), amount: Number(r.amount) },
        ],
      }));
      await postTransactions(db, postings);
    }
  }

  function startWorker(rateLimit: number): ChildProcess {
    const child = spawn(process.execPath, [join(root, 'workers/main.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_TASK_QUEUE: taskQueue,
        API_KEYS: 'admin:bench_admin_key_0123456789',
        SESSION_SECRET: 'bench-session-secret-0123456789-abcdefghij',
        LOG_LEVEL: 'warn',
        STRIPE_SECRET_KEY: 'sk_test_bench',
        STRIPE_API_BASE: fake.url,
        STRIPE_RATE_LIMIT_PER_SECOND: String(rateLimit),
        PAYOUT_CONCURRENCY: String(CONCURRENCY),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('exit', (code, signal) => {
      if (!stopping.has(child)) {
        console.error(`the worker exited (${code ?? signal}); stopping the bench`);
        process.kill(process.pid, 'SIGTERM');
      }
    });
    return child;
  }
  const stopping = new Set<ChildProcess>();
  const stop = async (child: ChildProcess) => {
    stopping.add(child);
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };

  async function cycle(frequency: PayoutFrequency) {
    const { cycleId, workflowId } = await startCycle(
      { db, temporal: client, taskQueue },
      { requestedBy: 'bench', frequencies: [frequency] },
    );
    const result = await client.workflow.getHandle(workflowId).result();
    const {
      rows: [c],
    } = await pool.query(
      `SELECT extract(epoch FROM completed_at - started_at) AS seconds FROM payout_cycles WHERE id = $1`,
      [cycleId],
    );
    const {
      rows: [f],
    } = await pool.query(`SELECT count(*)::int AS n FROM payouts WHERE cycle_id = $1 AND status = 'failed'`, [cycleId]);
    const {
      rows: [l],
    } = await pool.query(
      `SELECT count(*)::int AS n FROM ledger_transactions t JOIN payouts p ON t.idempotency_key = 'payout:' || p.id WHERE p.cycle_id = $1`,
      [cycleId],
    );
    return { totals: result.totals, seconds: Number(c.seconds), failed: f.n as number, ledger: l.n as number };
  }

  // Bare limit: SDK transfers against the same fake at the same concurrency, nothing else.
  const sdk = new Stripe('sk_test_bench', {
    host: '127.0.0.1',
    port: Number(new URL(fake.url).port),
    protocol: 'http',
    maxNetworkRetries: 5,
  });
  fake.accounts.set('acct_bare', { payoutsEnabled: true });
  const bare = await measure(
    5_000,
    CONCURRENCY,
    async (i) =>
      void (await sdk.transfers.create(
        { amount: 100, currency: 'usd', destination: 'acct_bare', metadata: { payout_id: `bare-${i}` } },
        { idempotencyKey: `bare-${i}` },
      )),
  );

  // 1. Unthrottled.
  await seed(partners, 'monthly');
  let worker = startWorker(10_000);
  await new Promise((r) => setTimeout(r, 3_000));
  const fast = await cycle('monthly');
  await stop(worker);

  // 2. Throttled to 100 requests/s.
  await seed(throttled, 'weekly');
  fake.rateLimitPerSecond = 100;
  fake.stats.rateLimited = 0;
  const before = fake.transfers.length;
  worker = startWorker(100);
  await new Promise((r) => setTimeout(r, 3_000));
  const started = Date.now();
  const slow = await cycle('weekly');
  const transferSeconds = (Date.now() - started) / 1000;
  const made = fake.transfers.length - before;
  await stop(worker);

  await connection.close();
  await fake.close();
  await db.end();
  await pool.end();

  console.log(
    `\npayout cycle over ${fmt(partners)} partners with payable balances (worker process, fake Stripe, concurrency ${CONCURRENCY})`,
  );
  console.log(
    `  unthrottled            ${fmt(fast.totals.paid / fast.seconds)} payouts/s   ${fmt(fast.totals.paid)} paid in ${fmt(fast.seconds, 1)} s, ${fast.failed} failed, ${fmt(fast.ledger)} ledger transactions`,
  );
  console.log(
    `  bare SDK transfers     ${fmt(bare.perSecond)}/s   p50 ${fmt(bare.p50, 1)} ms   (same fake and concurrency, no database or Temporal)`,
  );
  console.log(
    `  ratio                  ${fmt((100 * fast.totals.paid) / fast.seconds / bare.perSecond)}% of bare transfers`,
  );
  console.log(`throttled to Stripe's live limit, 100 requests/s: ${fmt(throttled)} payouts`);
  console.log(
    `  transfers              ${fmt(made / slow.seconds, 1)}/s over the cycle (${fmt(slow.seconds, 1)} s; ${fmt(made / transferSeconds, 1)}/s wall) = ${fmt(made / slow.seconds)}% of the limit`,
  );
  console.log(
    `  failed payouts         ${slow.failed}   429s answered ${fake.stats.rateLimited} (retried)   ledger transactions ${fmt(slow.ledger)}`,
  );
  console.log(`  duplicate transfers    ${fake.duplicateTransfers()} across both runs`);
}
