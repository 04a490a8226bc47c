// `npm run bench -- soak [--minutes 30] [--engine server|dev|both] [--rate R] [--dev-minutes M]`: the
// system as deployed, on the real distributed engine, for a long while:
//   - the Temporal server (scripts/temporal-server.ts: go.temporal.io/server on PostgreSQL, SQL
//     visibility), or the dev server (`--engine dev`), or the first then the second at the same rate
//     (`--engine both`, the dev run `--dev-minutes` long, a third of `--minutes` by default);
//   - two API processes behind one address (a round-robin TCP proxy in this process), two workers,
//     two relays, the stateful fake Stripe;
//   - a calibration (closed loop at `--concurrency`, `--calibrate-seconds`, then until the system is
//     quiet again) measures the capacity end to end; the soak then offers mixed traffic (signups
//     through partner codes, activations, payments, refunds) open loop at half of it (or `--rate`);
//   - a payout cycle (POST /v1/payout-cycles, finance key) every `--cycle-every` minutes (5), a new
//     partner every 2 minutes so each cycle has someone to pay, and a worker killed (SIGKILL) and
//     started again every `--kill-every` minutes (3);
//   - RSS of every process every 10 s; requests/s, p99 and the outbox backlog per minute;
//   - at the end, once quiet: the ledger, the edge workflows' `state` queries, the partner stats
//     (GET /v1/partners/{id}) and the fake Stripe's transfers reconciled per partner. Any mismatch
//     makes the exit code 1.
// `--out <file>` writes the figures as JSON; `--compare <file>` prints this run against those.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { edgeWorkflowId, stateQuery, type EdgeLifecycleView } from '../contracts/edge-lifecycle.ts';
import { balanceOf } from '../db/ledger.ts';
import { migrate } from '../db/migrate.ts';
import { createDatabasePool } from '../db/pool.ts';
import { DEFAULT_FLAVORS } from '../domain/invite-flavors.ts';
import { partnerEarnings } from '../domain/ledger-postings.ts';
import { approve, createPartner } from '../services/partners.ts';
import { signUp } from '../services/signups.ts';
import { freePort, waitFor } from '../scripts/ports.ts';
import { trackChild } from '../scripts/shutdown.ts';
import { startTemporalServer, type TemporalServer } from '../scripts/temporal-server.ts';
import { startFakeStripe, type FakeStripe } from '../test/support/fake-stripe.ts';
import { flag, fmt, percentile } from './_measure.ts';
import { BENCH_SESSION_SECRET } from './_process.ts';
import type { BenchStack } from './run.ts';
import { startRoundRobinProxy } from './support/round-robin-proxy.ts';
import { pidsWith, rssOf, treePss } from './support/rss.ts';

const root = join(import.meta.dirname, '..');
const KEYS = {
  server: 'server_soak_key_0123456789',
  finance: 'finance_soak_key_0123456789',
  admin: 'admin_soak_key_0123456789',
};
const MB = 1024 * 1024;

type Engine = 'server' | 'dev';
type OpKind = 'signup' | 'activation' | 'payment' | 'refund';
const WEIGHTS: Record<OpKind, number> = { signup: 3, activation: 2, payment: 4, refund: 1 };

type Minute = {
  minute: number;
  requests: number;
  perSecond: number;
  p99: number;
  errors: number;
  outboxBacklog: number;
  unpriced: number;
  rssMb: Record<string, number>;
};
export type SoakFigures = {
  engine: Engine;
  minutes: number;
  capacityPerSecond: number;
  offeredPerSecond: number;
  requests: number;
  errors: number;
  retried: number;
  p50: number;
  p99: number;
  perMinute: Minute[];
  peakRssMb: Record<string, number>;
  workerKills: number;
  cycles: { started: number; refused: number; paid: number; failed: number };
  quietSeconds: number;
  reconciled: { partners: number; edges: number; checks: number; mismatches: number };
  duplicateTransfers: number;
};

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const engineArg = (args[args.indexOf('--engine') + 1] ?? 'server') as Engine | 'both';
  const engine = args.includes('--engine') ? engineArg : 'server';
  if (!['server', 'dev', 'both'].includes(engine)) throw new Error(`--engine server|dev|both, not ${engine}`);
  const minutes = flag(args, 'minutes', 30);
  const devMinutes = flag(args, 'dev-minutes', Math.max(2, Math.round(minutes / 3)));
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
  const compare = args.includes('--compare') ? args[args.indexOf('--compare') + 1] : undefined;
  const settings = {
    rate: flag(args, 'rate', 0),
    concurrency: flag(args, 'concurrency', 16),
    calibrateSeconds: flag(args, 'calibrate-seconds', 60),
    cycleEvery: flag(args, 'cycle-every', 5),
    killEvery: flag(args, 'kill-every', 3),
  };
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const createDatabase = async (name: string) => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end();
    }
  };
  const appDatabase = async (name: string) => {
    await createDatabase(name);
    const url = new URL(databaseUrl);
    url.pathname = `/${name}`;
    await migrate(url.toString());
    return url.toString();
  };
  const postgresPids = pidsWith(['bin/postgres', ` -p ${admin.port} `]);
  const postgresPid = postgresPids.length > 0 ? Math.min(...postgresPids) : undefined;

  const results: SoakFigures[] = [];
  let failed = false;
  if (engine === 'server' || engine === 'both') {
    const work = mkdtempSync(join(tmpdir(), 'referral-graph-temporal-server-'));
    let server: TemporalServer | undefined;
    try {
      console.log('starting the Temporal server on PostgreSQL...');
      server = await startTemporalServer({
        postgres: { host: admin.hostname, port: Number(admin.port), user: admin.username, password: admin.password },
        createDatabase,
        workDir: work,
        databasePrefix: 'temporal_soak',
      });
      const figures = await soak({
        engine: 'server',
        minutes,
        databaseUrl: await appDatabase('soak_server'),
        temporalAddress: server.address,
        temporalPid: () => server!.pid,
        postgresPid,
        ...settings,
      });
      results.push(figures);
      failed ||= figures.reconciled.mismatches > 0 || figures.duplicateTransfers > 0;
    } finally {
      await server?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
  if (engine === 'dev' || engine === 'both') {
    const port = temporalAddress.split(':').at(-1)!;
    const figures = await soak({
      engine: 'dev',
      minutes: engine === 'both' ? devMinutes : minutes,
      databaseUrl: await appDatabase('soak_dev'),
      temporalAddress,
      temporalPid: () => pidsWith(['start-dev', `--port ${port} `]).sort((a, b) => a - b)[0],
      postgresPid,
      ...settings,
      // The same load as the server run: its offered rate.
      rate: results[0]?.offeredPerSecond ?? settings.rate,
    });
    results.push(figures);
    failed ||= figures.reconciled.mismatches > 0 || figures.duplicateTransfers > 0;
  }
  if (out) writeFileSync(out, JSON.stringify(results, null, 2));
  const reference = compare ? (JSON.parse(readFileSync(compare, 'utf8')) as SoakFigures[]) : [];
  const server = results.find((r) => r.engine === 'server') ?? reference.find((r) => r.engine === 'server');
  const dev = results.find((r) => r.engine === 'dev') ?? reference.find((r) => r.engine === 'dev');
  if (server && dev) printRatio(server, dev);
  if (failed) {
    console.error('\nsoak FAILED: drift or duplicate transfers (see above)');
    process.exitCode = 1;
  }
}

type SoakOptions = {
  engine: Engine;
  minutes: number;
  databaseUrl: string;
  temporalAddress: string;
  temporalPid: () => number | undefined;
  postgresPid: number | undefined;
  rate: number;
  concurrency: number;
  calibrateSeconds: number;
  cycleEvery: number;
  killEvery: number;
};

type Role = 'api-1' | 'api-2' | 'worker-1' | 'worker-2' | 'relays-1' | 'relays-2';

async function soak(o: SoakOptions): Promise<SoakFigures> {
  const logs = mkdtempSync(join(tmpdir(), `referral-graph-soak-${o.engine}-`));
  console.log(
    `\n== soak on the ${o.engine === 'server' ? 'Temporal server (PostgreSQL)' : 'Temporal dev server'}: logs in ${logs}`,
  );
  const fake: FakeStripe = await startFakeStripe();
  const pool = new pg.Pool({ connectionString: o.databaseUrl, max: 4 });
  const db = await createDatabasePool(o.databaseUrl, 4);
  const connection = await Connection.connect({ address: o.temporalAddress });
  const client = new Client({ connection });

  // ---- the processes ------------------------------------------------------------------------------
  const apiPorts = [await freePort(), await freePort()];
  const proxy = await startRoundRobinProxy(apiPorts);
  const base = `http://127.0.0.1:${proxy.port}`;
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: o.databaseUrl,
    TEMPORAL_ADDRESS: o.temporalAddress,
    SESSION_SECRET: BENCH_SESSION_SECRET,
    API_KEYS: `server:${KEYS.server},finance:${KEYS.finance},admin:${KEYS.admin}`,
    PUBLIC_BASE_URL: base,
    LOG_LEVEL: 'warn',
    STRIPE_SECRET_KEY: 'sk_test_soak',
    STRIPE_API_BASE: fake.url,
    HOLDING_PERIOD_DAYS: '0', // commissions payable at once, so each payout cycle has money to move
    RATE_LIMIT_PER_MINUTE: '100000000', // one load generator address: the limits are not what is measured
    // Every signup comes from 127.0.0.1 and activates within seconds: keep the fraud rules on, but
    // their thresholds out of a load test's way (the fraud benches measure them).
    FRAUD_IP_SIGNUPS_PER_HOUR: '1000000',
    FRAUD_IP_BURST_PER_HOUR: '1000000',
    FRAUD_NETWORK_SIGNUPS_PER_HOUR: '1000000',
    FRAUD_SHARED_IP_REFEREES: '1000000',
    FRAUD_PARTNER_EDGES_PER_HOUR: '1000000',
    FRAUD_PARTNER_EDGES_PER_DAY: '1000000',
    FRAUD_QUICK_ACTIVATION_SECONDS: '0',
    ...extra,
  });
  const scripts: Record<Role, { script: string; env: NodeJS.ProcessEnv }> = {
    'api-1': { script: 'api/server.ts', env: env({ PORT: String(apiPorts[0]) }) },
    'api-2': { script: 'api/server.ts', env: env({ PORT: String(apiPorts[1]) }) },
    'worker-1': { script: 'workers/main.ts', env: env({}) },
    'worker-2': { script: 'workers/main.ts', env: env({}) },
    'relays-1': { script: 'workers/relays.ts', env: env({}) },
    'relays-2': { script: 'workers/relays.ts', env: env({}) },
  };
  const children = new Map<Role, ChildProcess>();
  const expectedExit = new Set<ChildProcess>();
  let unexpectedExits = 0;
  const launch = (role: Role) => {
    const log = createWriteStream(join(logs, `${role}.log`), { flags: 'a' });
    const child = trackChild(
      spawn(process.execPath, [join(root, scripts[role].script)], {
        env: scripts[role].env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    // Their logs (LOG_LEVEL warn, JSON on stdout) and anything on stderr, for after the run.
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    child.once('exit', (code, signal) => {
      if (expectedExit.has(child)) return;
      unexpectedExits++;
      console.error(`  ${role} exited on its own (${code ?? signal}); starting it again (see ${logs}/${role}.log)`);
      if (!stopping) launch(role);
    });
    children.set(role, child);
  };
  let stopping = false;
  const stopChild = async (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') => {
    expectedExit.add(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  for (const role of Object.keys(scripts) as Role[]) launch(role);
  for (const port of apiPorts)
    await waitFor(
      `the API on ${port}`,
      async () => {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status !== 200) throw new Error('not ready');
      },
      120_000,
    );

  // ---- the client -----------------------------------------------------------------------------------
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(o.concurrency, 32) });
  let requestSeq = 0;
  let retried = 0;
  const send = <T>(method: string, path: string, payload: string, headers: http.OutgoingHttpHeaders) =>
    new Promise<T>((resolve, reject) => {
      const req = http.request(`${base}${path}`, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode! >= 300)
            reject(new Error(`${method} ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`));
          else resolve((text ? JSON.parse(text) : undefined) as T);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  /**
   * One request; a connection lost before any answer (a kept-alive connection the server closed as
   * the request went out, on a machine this busy) is sent again with the same Idempotency-Key, as a
   * client of this API should: the server does it once either way.
   */
  const request = async <T>(method: string, path: string, body: unknown, key?: string): Promise<T> => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = {
      ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(method === 'POST' ? { 'idempotency-key': `soak-${o.engine}-${process.pid}-${requestSeq++}` } : {}),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        return await send<T>(method, path, payload, headers);
      } catch (err) {
        const lost = /socket hang up|ECONNRESET|EPIPE/.test(String((err as Error).message ?? err));
        if (!lost || attempt >= 3) throw err;
        retried++;
      }
    }
  };

  // ---- the population the traffic acts on ----------------------------------------------------------
  type Partner = { tenantId: string; code: string; account: string };
  const partners: Partner[] = [];
  const refereesOf = new Map<string, string[]>(); // partner tenant -> referee user ids
  const toActivate: string[] = [];
  const payers: string[] = [];
  const refundable: { paymentId: string; amount: number }[] = [];
  let seq = 0;
  const addPartner = async () => {
    const n = partners.length;
    const owner = await signUp(
      { db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS },
      { email: `partner-${n}@soak-${o.engine}.example` },
    );
    const tenantId = owner.user.tenant_id;
    const partner = await createPartner({ db, publicBaseUrl: base }, { tenantId });
    await approve({ db, publicBaseUrl: base }, tenantId, 'soak');
    const account = `acct_soak${o.engine}${n}`;
    // As after Stripe's account.updated: a connected account that can receive transfers.
    await pool.query(
      `UPDATE partners SET stripe_account_id = $2, stripe_account_status = 'enabled', payout_method = 'stripe',
              payout_threshold_cents = 1000, payout_frequency = 'weekly' WHERE tenant_id = $1`,
      [tenantId, account],
    );
    fake.accounts.set(account, { payoutsEnabled: true });
    partners.push({ tenantId, code: partner.referral_code, account });
    refereesOf.set(tenantId, []);
  };
  for (let i = 0; i < 6; i++) await addPartner();

  const ops: Record<OpKind, () => Promise<void>> = {
    signup: async () => {
      const i = seq++;
      const partner = partners[i % partners.length]!;
      const reply = await request<{ user: { id: string } }>('POST', '/v1/signups', {
        email: `customer-${i}@soak-${o.engine}.example`,
        ref: partner.code,
      });
      refereesOf.get(partner.tenantId)!.push(reply.user.id);
      toActivate.push(reply.user.id);
    },
    activation: async () => {
      const userId = toActivate.shift()!;
      await request('POST', '/v1/activations', { userId }, KEYS.server);
      payers.push(userId);
    },
    payment: async () => {
      const i = seq++;
      const userId = payers[i % payers.length]!;
      const amount = 1_000 + ((i * 7919) % 9_000);
      const paymentId = `soak-${o.engine}-pay-${i}`;
      await request('POST', '/v1/payments', { paymentId, userId, amountCents: amount }, KEYS.server);
      refundable.push({ paymentId, amount });
    },
    refund: async () => {
      const i = seq++;
      const payment = refundable.splice((i * 31) % refundable.length, 1)[0]!;
      const amountCents = i % 2 === 0 ? payment.amount : Math.floor(payment.amount / 2);
      await request(
        'POST',
        '/v1/refunds',
        { refundId: `soak-${o.engine}-refund-${i}`, paymentId: payment.paymentId, amountCents },
        KEYS.server,
      );
    },
  };
  let pick = 0;
  const order = (Object.keys(WEIGHTS) as OpKind[]).flatMap((k) => Array<OpKind>(WEIGHTS[k]).fill(k));
  /** The next operation of the mix that the population allows (a signup always does). */
  const nextOp = (): OpKind => {
    for (let tries = 0; tries < order.length; tries++) {
      const kind = order[(pick++ * 7) % order.length]!;
      if (kind === 'activation' && toActivate.length === 0) continue;
      if (kind === 'payment' && payers.length === 0) continue;
      if (kind === 'refund' && refundable.length === 0) continue;
      return kind;
    }
    return 'signup';
  };

  // ---- measurements -----------------------------------------------------------------------------------
  type Sample = { at: number; latency: number; ok: boolean; kind: OpKind };
  let samples: Sample[] = [];
  const issue = async () => {
    const kind = nextOp();
    const t = performance.now();
    try {
      await ops[kind]();
      samples.push({ at: t, latency: performance.now() - t, ok: true, kind });
    } catch (err) {
      samples.push({ at: t, latency: performance.now() - t, ok: false, kind });
      if (errorsShown++ < 5) console.error(`  ${kind} failed: ${(err as Error).message}`);
    }
  };
  let errorsShown = 0;
  const rssNow = (): Record<string, number> => {
    const rss: Record<string, number> = {};
    for (const [role, child] of children) rss[role] = child.pid ? rssOf(child.pid) / MB : 0;
    const temporalPid = o.temporalPid();
    rss.temporal = temporalPid ? treePss(temporalPid) / MB : 0;
    rss.postgres = o.postgresPid ? treePss(o.postgresPid) / MB : 0;
    rss['load generator'] = process.memoryUsage.rss() / MB;
    return rss;
  };
  const quiet = async () => {
    const started = performance.now();
    let last = '';
    let stableSince = performance.now();
    await waitFor(
      'the system to go quiet (outbox drained, payments priced, ledger still)',
      async () => {
        const {
          rows: [s],
        } = await pool.query(`
          SELECT (SELECT count(*) FROM workflow_outbox WHERE started_at IS NULL)::int AS outbox,
                 (SELECT count(*) FROM payments WHERE priced_at IS NULL)::int AS unpriced,
                 (SELECT count(*) FROM payout_cycles WHERE status = 'running')::int
                   + (SELECT count(*) FROM payouts WHERE status = 'processing')::int AS cycles,
                 (SELECT count(*) FROM ledger_transactions)::int AS ledger`);
        const now = JSON.stringify(s);
        if (now !== last) {
          last = now;
          stableSince = performance.now();
        }
        if (s.outbox > 0 || s.unpriced > 0 || s.cycles > 0) throw new Error(now);
        if (performance.now() - stableSince < 10_000)
          throw new Error(`${now}, still for ${Math.round((performance.now() - stableSince) / 1000)} s`);
      },
      3_600_000,
    );
    return (performance.now() - started - 10_000) / 1000;
  };

  // ---- calibration: closed loop, then until quiet ------------------------------------------------
  let offered = o.rate;
  let capacity = 0;
  {
    console.log(
      `  calibrating: closed loop at concurrency ${o.concurrency} for ${o.calibrateSeconds} s, then until quiet...`,
    );
    const started = performance.now();
    const until = started + o.calibrateSeconds * 1000;
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (performance.now() < until) await issue();
      }),
    );
    const sent = samples.filter((s) => s.ok).length;
    const accepted = sent / ((performance.now() - started) / 1000);
    await quiet();
    const seconds = (performance.now() - started - 10_000) / 1000;
    capacity = sent / seconds;
    if (!offered) offered = capacity / 2;
    console.log(
      `  capacity ${fmt(capacity, 1)} requests/s end to end (${fmt(sent)} requests accepted at ${fmt(accepted, 1)}/s, quiet after ${fmt(seconds, 1)} s); offering ${fmt(offered, 1)}/s`,
    );
    samples = [];
  }

  // ---- the soak ------------------------------------------------------------------------------------------
  const started = performance.now();
  const end = started + o.minutes * 60_000;
  const rssSamples: { at: number; rss: Record<string, number> }[] = [];
  const minuteRows: Minute[] = [];
  const cycles: string[] = [];
  let refusedCycles = 0;
  let kills = 0;
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, f: () => Promise<void> | void) =>
    timers.push(
      setInterval(() => void Promise.resolve(f()).catch((err) => console.error(`  ${(err as Error).message}`)), ms),
    );
  every(10_000, () => void rssSamples.push({ at: performance.now(), rss: rssNow() }));
  every(o.cycleEvery * 60_000, async () => {
    try {
      const reply = await request<{ cycleId: string }>('POST', '/v1/payout-cycles', {}, KEYS.finance);
      cycles.push(reply.cycleId);
      console.log(`  payout cycle ${reply.cycleId} started`);
    } catch (err) {
      refusedCycles++;
      console.log(`  payout cycle refused: ${(err as Error).message}`);
    }
  });
  every(2 * 60_000, addPartner);
  every(o.killEvery * 60_000, async () => {
    const role: Role = kills % 2 === 0 ? 'worker-1' : 'worker-2';
    kills++;
    const child = children.get(role)!;
    await stopChild(child, 'SIGKILL');
    console.log(`  ${role} killed (SIGKILL); starting it again in 5 s`);
    await new Promise((r) => setTimeout(r, 5_000));
    if (!stopping) launch(role);
  });
  let minuteStart = started;
  const closeMinute = async () => {
    const from = minuteStart;
    minuteStart = performance.now();
    const these = samples.filter((s) => s.at >= from && s.at < minuteStart);
    const latencies = these
      .filter((s) => s.ok)
      .map((s) => s.latency)
      .sort((a, b) => a - b);
    const {
      rows: [b],
    } = await pool.query(`
      SELECT (SELECT count(*) FROM workflow_outbox WHERE started_at IS NULL)::int AS outbox,
             (SELECT count(*) FROM payments WHERE priced_at IS NULL)::int AS unpriced`);
    const row: Minute = {
      minute: minuteRows.length + 1,
      requests: latencies.length,
      perSecond: latencies.length / ((minuteStart - from) / 1000),
      p99: percentile(latencies, 0.99),
      errors: these.length - latencies.length,
      outboxBacklog: b.outbox,
      unpriced: b.unpriced,
      rssMb: rssSamples.at(-1)?.rss ?? rssNow(),
    };
    minuteRows.push(row);
    const rss = row.rssMb;
    console.log(
      `  min ${String(row.minute).padStart(2)}  ${fmt(row.perSecond, 1)} req/s  p99 ${fmt(row.p99)} ms  errors ${row.errors}  backlog ${row.outboxBacklog} outbox / ${row.unpriced} unpriced  RSS MB: api ${fmt(rss['api-1']!)}+${fmt(rss['api-2']!)} worker ${fmt(rss['worker-1']!)}+${fmt(rss['worker-2']!)} relays ${fmt(rss['relays-1']!)}+${fmt(rss['relays-2']!)} temporal ${fmt(rss.temporal!)} postgres ${fmt(rss.postgres!)}`,
    );
  };
  every(60_000, closeMinute);

  // Open loop: operations issued at `offered` per second whatever their latency.
  const pending = new Set<Promise<void>>();
  for (let i = 0; ; i++) {
    const due = started + (i * 1000) / offered;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = issue();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  await Promise.all(pending);
  for (const t of timers) clearInterval(t);
  if (performance.now() - minuteStart > 5_000) await closeMinute(); // the last, partial minute
  const soakSeconds = (performance.now() - started) / 1000;
  // A worker killed last may still be waiting to start again.
  await new Promise((r) => setTimeout(r, 6_000));
  const all = samples
    .filter((s) => s.ok)
    .map((s) => s.latency)
    .sort((a, b) => a - b);
  const errors = samples.filter((s) => !s.ok).length;

  // ---- quiet, then reconcile ------------------------------------------------------------------------------
  console.log('  load done; waiting for the system to go quiet...');
  const quietSeconds = await quiet();
  const { rows: cycleRows } = await pool.query<{ paid: number; failed: number }>(
    `SELECT count(*) FILTER (WHERE status = 'paid')::int AS paid, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM payouts`,
  );
  let reconciled = await reconcile();
  for (let attempt = 1; reconciled.mismatches > 0 && attempt <= 4; attempt++) {
    console.log(`  ${reconciled.mismatches} mismatches; looking again in 15 s (attempt ${attempt} of 4)`);
    await new Promise((r) => setTimeout(r, 15_000));
    reconciled = await reconcile(attempt === 4);
  }

  async function reconcile(verbose = true) {
    let checks = 0;
    let mismatches = 0;
    let edges = 0;
    const check = (what: string, a: number, b: number) => {
      checks++;
      if (a !== b) {
        mismatches++;
        if (verbose && mismatches <= 20) console.log(`    MISMATCH ${what}: ${a} != ${b}`);
      }
    };
    for (const partner of partners) {
      const referees = refereesOf.get(partner.tenantId)!;
      edges += referees.length;
      const views: EdgeLifecycleView[] = [];
      for (let i = 0; i < referees.length; i += 16)
        views.push(
          ...(await Promise.all(
            referees.slice(i, i + 16).map((id) => client.workflow.getHandle(edgeWorkflowId(id)).query(stateQuery)),
          )),
        );
      const [pendingCents, payable, paid] = await Promise.all(
        (['pending', 'payable', 'paid'] as const).map((stage) =>
          balanceOf(db, partnerEarnings(partner.tenantId, stage)),
        ),
      );
      const ledgerTotal = pendingCents! + payable! + paid!;
      const workflowTotal = views.reduce((sum, v) => sum + v.earned.cashCents, 0);
      const stats = (
        await request<{
          stats: {
            totalReferrals: number;
            activeReferrals: number;
            totalEarningsCents: number;
            pendingPayoutCents: number;
            lifetimePayoutCents: number;
          };
        }>('GET', `/v1/partners/${partner.tenantId}`, undefined, KEYS.admin)
      ).stats;
      const transferred = fake.transfers
        .filter((t) => t.destination === partner.account)
        .reduce((s, t) => s + t.amount, 0);
      const p = partner.tenantId.slice(0, 8);
      check(`partner ${p} ledger earnings vs workflow state queries`, ledgerTotal, workflowTotal);
      check(`partner ${p} stats totalEarningsCents vs ledger`, stats.totalEarningsCents, ledgerTotal);
      check(`partner ${p} stats pendingPayoutCents vs ledger`, stats.pendingPayoutCents, pendingCents! + payable!);
      check(`partner ${p} stats lifetimePayoutCents vs ledger`, stats.lifetimePayoutCents, paid!);
      check(`partner ${p} ledger paid vs Stripe transfers`, paid!, transferred);
      check(`partner ${p} stats totalReferrals vs signups`, stats.totalReferrals, referees.length);
      check(
        `partner ${p} stats activeReferrals vs activated workflows`,
        stats.activeReferrals,
        views.filter((v) => v.activatedAt !== null).length,
      );
    }
    return { partners: partners.length, edges, checks, mismatches };
  }

  // ---- stop ---------------------------------------------------------------------------------------------------
  stopping = true;
  await Promise.all([...children.values()].map((c) => stopChild(c)));
  agent.destroy();
  await proxy.close();
  await connection.close();
  await db.end();
  await pool.end();
  const duplicateTransfers = fake.duplicateTransfers();
  const transfers = fake.transfers.length;
  await fake.close();

  const peakRssMb: Record<string, number> = {};
  for (const { rss } of rssSamples)
    for (const [k, v] of Object.entries(rss)) peakRssMb[k] = Math.max(peakRssMb[k] ?? 0, v);
  const figures: SoakFigures = {
    engine: o.engine,
    minutes: o.minutes,
    capacityPerSecond: capacity,
    offeredPerSecond: offered,
    requests: all.length,
    errors,
    retried,
    p50: percentile(all, 0.5),
    p99: percentile(all, 0.99),
    perMinute: minuteRows,
    peakRssMb,
    workerKills: kills,
    cycles: { started: cycles.length, refused: refusedCycles, paid: cycleRows[0]!.paid, failed: cycleRows[0]!.failed },
    quietSeconds,
    reconciled,
    duplicateTransfers,
  };
  const first = minuteRows[0]?.rssMb ?? {};
  const last = minuteRows.at(-1)?.rssMb ?? {};
  console.log(
    `\nsoak on the ${o.engine === 'server' ? 'Temporal server on PostgreSQL' : 'Temporal dev server'}: ${o.minutes} min`,
  );
  console.log(
    `  capacity (calibration)    ${fmt(capacity, 1)} requests/s end to end; offered ${fmt(offered, 1)}/s (${fmt((100 * offered) / capacity)}%)`,
  );
  console.log(
    `  served                    ${fmt(all.length)} requests in ${fmt(soakSeconds)} s = ${fmt(all.length / soakSeconds, 1)}/s   p50 ${fmt(figures.p50, 1)} ms   p99 ${fmt(figures.p99, 1)} ms   errors ${errors}   resent after a lost connection ${retried}`,
  );
  console.log(
    `  worker kills              ${kills} (SIGKILL, restarted after 5 s); processes that exited on their own: ${unexpectedExits}`,
  );
  console.log(
    `  payout cycles             ${cycles.length} started, ${refusedCycles} refused; payouts paid ${figures.cycles.paid}, failed ${figures.cycles.failed}; Stripe transfers ${transfers}, duplicates ${duplicateTransfers}`,
  );
  console.log(`  quiet after the load      ${fmt(quietSeconds, 1)} s`);
  console.log(`  API connections           ${proxy.connections.join(' / ')} (round robin)`);
  console.log(
    `  RSS MB, first min -> last min (peak): ${Object.keys(peakRssMb)
      .map((k) => `${k} ${fmt(first[k] ?? 0)} -> ${fmt(last[k] ?? 0)} (${fmt(peakRssMb[k]!)})`)
      .join(', ')}`,
  );
  console.log(
    `  reconciliation            ${reconciled.partners} partners, ${fmt(reconciled.edges)} edge workflows queried, ${reconciled.checks} checks: ${reconciled.mismatches} mismatches (drift ${reconciled.mismatches === 0 ? '0' : 'FOUND'})`,
  );
  if (reconciled.mismatches === 0 && unexpectedExits === 0) rmSync(logs, { recursive: true, force: true });
  else console.log(`  process logs kept in ${logs}`);
  return figures;
}

function printRatio(server: SoakFigures, dev: SoakFigures): void {
  const ratio = (a: number, b: number) => `${fmt(a / b, 2)}x`;
  const sumRss = (f: SoakFigures, k: string) => f.peakRssMb[k] ?? 0;
  console.log(`\nthe same load on both engines (${fmt(server.offeredPerSecond, 1)} requests/s offered), server / dev:`);
  console.log(
    `  capacity            ${fmt(server.capacityPerSecond, 1)} / ${fmt(dev.capacityPerSecond, 1)} requests/s = ${ratio(server.capacityPerSecond, dev.capacityPerSecond)}`,
  );
  console.log(`  p50                 ${fmt(server.p50, 1)} / ${fmt(dev.p50, 1)} ms = ${ratio(server.p50, dev.p50)}`);
  console.log(`  p99                 ${fmt(server.p99, 1)} / ${fmt(dev.p99, 1)} ms = ${ratio(server.p99, dev.p99)}`);
  console.log(
    `  Temporal peak RSS   ${fmt(sumRss(server, 'temporal'))} / ${fmt(sumRss(dev, 'temporal'))} MB = ${ratio(sumRss(server, 'temporal'), sumRss(dev, 'temporal'))}`,
  );
  console.log(
    `  quiet after load    ${fmt(server.quietSeconds, 1)} / ${fmt(dev.quietSeconds, 1)} s   drift ${server.reconciled.mismatches} / ${dev.reconciled.mismatches}`,
  );
}
