// `npm run bench -- payments [--edges 50] [--count 1000] [--concurrency 8]`: payments end to end,
// POST /v1/payments -> PostgreSQL (payment + outbox message) -> relay -> the edge's workflow ->
// pricing activity -> commission in the ledger, next to the bare limit measured in the same run:
// the rate at which trivial workflows receive and handle signals, worker included, with the same
// shape (as many workflows, as many signals each, the same sender concurrency).
import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { createDatabasePool } from '../db/pool.ts';
import { DEFAULT_FLAVORS } from '../domain/invite-flavors.ts';
import { partnerEarnings } from '../domain/ledger-postings.ts';
import { approve, createPartner } from '../services/partners.ts';
import { signUp } from '../services/signups.ts';
import { freePort, waitFor } from '../scripts/ports.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt, measure, percentile } from './_measure.ts';
import { start, stop, systemEnv } from './_process.ts';

const SERVER_KEY = 'server_bench_key_0123456789';

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const edges = flag(args, 'edges', 50);
  const count = flag(args, 'count', 1000);
  const concurrency = flag(args, 'concurrency', 8);
  const perEdge = Math.ceil(count / edges);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });

  // Bare limit: trivial workflows receiving and handling signals, their worker in its own process.
  const bareQueue = 'bench-signals';
  const signalWorker = start(
    'bench/support/signal-worker.ts',
    { ...process.env, TEMPORAL_ADDRESS: temporalAddress, BENCH_TASK_QUEUE: bareQueue },
    { ipc: true },
  );
  await new Promise<void>((resolve, reject) => {
    signalWorker.once('message', () => resolve());
    signalWorker.once('exit', (code) => reject(new Error(`the signal worker exited (${code})`)));
  });
  const counters = await Promise.all(
    Array.from({ length: edges }, (_, i) =>
      client.workflow.start('signalCounter', {
        workflowId: `bare-signals-${i}`,
        taskQueue: bareQueue,
        args: [perEdge],
      }),
    ),
  );
  const bareStarted = performance.now();
  const bareSend = await measure(
    edges * perEdge,
    concurrency,
    async (i) => void (await counters[i % edges]!.signal('tick', i)),
  );
  await Promise.all(counters.map((h) => h.result()));
  const bareSeconds = (performance.now() - bareStarted) / 1000;
  const bareRate = (edges * perEdge) / bareSeconds;
  await stop(signalWorker);

  // The system as in production: API, relays and worker as their own processes.
  const port = await freePort();
  const env = systemEnv(databaseUrl, temporalAddress, {
    PORT: String(port),
    API_KEYS: `server:${SERVER_KEY}`,
    RATE_LIMIT_PER_MINUTE: '100000000',
  });
  const api = start('api/server.ts', env);
  const relays = start('workers/relays.ts', env);
  const worker = start('workers/main.ts', env);
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the API', async () => {
    if ((await fetch(`${base}/readyz`)).status !== 200) throw new Error('not up');
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const post = (path: string, body: unknown) =>
    new Promise<void>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = http.request(
        `${base}${path}`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            authorization: `Bearer ${SERVER_KEY}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            res.statusCode! >= 300
              ? reject(new Error(`${path} answered ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8')}`))
              : resolve(),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  // A partner (20% cash, 5% credits, 12 months) and `edges` customers through its code, activated.
  const db = await createDatabasePool(databaseUrl, 4);
  const owner = await signUp(
    { db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS },
    { email: 'partner@bench.example' },
  );
  const partner = await createPartner({ db, publicBaseUrl: base }, { tenantId: owner.user.tenant_id });
  await approve({ db, publicBaseUrl: base }, owner.user.tenant_id, 'bench');
  const customers: string[] = [];
  for (let i = 0; i < edges; i++)
    customers.push(
      (
        await signUp(
          { db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS },
          { email: `customer-${i}@bench.example`, ref: partner.referral_code },
        )
      ).user.id,
    );
  for (const userId of customers) await post('/v1/activations', { userId });
  await waitFor(
    'every edge to vest',
    async () => {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM edges WHERE vested_at IS NOT NULL');
      if (rows[0].n < edges) throw new Error(`${rows[0].n} vested`);
    },
    300_000,
  );
  await new Promise((r) => setTimeout(r, 2_000));

  // Payments: request -> commission in the ledger.
  const sentAt = new Map<string, number>();
  const epochOffset = Date.now() - performance.now();
  const payments = await measure(edges * perEdge, concurrency, async (i) => {
    const paymentId = `bench-${i}`;
    sentAt.set(paymentId, performance.now() + epochOffset);
    await post('/v1/payments', { paymentId, userId: customers[i % edges], amountCents: 1_000 + (i % 97) });
  });
  await waitFor(
    'every payment to be priced',
    async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM payments WHERE priced_at IS NULL`);
      if (rows[0].n > 0) throw new Error(`${rows[0].n} waiting`);
    },
    600_000,
  );
  const { rows } = await pool.query<{ id: string; at: string }>(`
    SELECT metadata ->> 'paymentId' AS id, extract(epoch FROM created_at) * 1000 AS at FROM ledger_transactions WHERE kind = 'commission'`);
  const latencies = rows.map((r) => Number(r.at) - sentAt.get(r.id)!).sort((a, b) => a - b);
  const first = Math.min(...sentAt.values());
  const last = Math.max(...rows.map((r) => Number(r.at)));
  const endToEnd = rows.length / ((last - first) / 1000);
  const {
    rows: [check],
  } = await pool.query(
    `
    SELECT (SELECT balance FROM ledger_balances WHERE owner_id = $1 AND purpose = $2) AS pending,
           (SELECT sum(amount_cents / 5) FROM payments) AS expected`,
    [owner.user.tenant_id, partnerEarnings(owner.user.tenant_id, 'pending').purpose],
  );

  await Promise.all([stop(api), stop(relays), stop(worker)]);
  agent.destroy();
  await db.end();
  await connection.close();
  await pool.end();

  console.log(
    `\npayments end to end: ${fmt(rows.length)} payments over ${edges} edges (${perEdge} each), sent at concurrency ${concurrency} (errors: ${payments.errors})`,
  );
  console.log(
    `  request -> ledger entry  ${fmt(endToEnd, 1)}/s   p50 ${fmt(percentile(latencies, 0.5))} ms   p99 ${fmt(percentile(latencies, 0.99))} ms`,
  );
  console.log(
    `  POST /v1/payments        ${fmt(payments.perSecond)}/s accepted   p50 ${fmt(payments.p50, 1)} ms   p99 ${fmt(payments.p99, 1)} ms`,
  );
  console.log(
    `  bare signal handling     ${fmt(bareRate, 1)}/s   (${edges} trivial workflows x ${perEdge} signals, worker included; signals accepted at ${fmt(bareSend.perSecond)}/s)`,
  );
  console.log(`  ratio                    ${fmt((100 * endToEnd) / bareRate)}% of bare signal handling`);
  console.log(
    `  ledger check             pending ${check.pending} cents = expected ${check.expected} (${String(check.pending) === String(check.expected) ? 'exact' : 'MISMATCH'})`,
  );
}
