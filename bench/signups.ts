// Signups with a ref through the real API process, next to the bare PostgreSQL insert rate; the
// same signups carrying fraud signals with the fraud rules on and off (FRAUD_RULES), side by side;
// then the edge workflows the worker's starter runs from the outbox, next to the bare Temporal start
// rate, with the lag from signup to running workflow.
//   npm run bench -- signups [--count 5000] [--concurrency 8] [--starter-concurrency 64] [--rounds 3]
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { freePort, waitFor } from '../scripts/ports.ts';
import { startLocalTemporal } from '../scripts/local-temporal.ts';
import { ensureTemporalCli } from '../scripts/provision.ts';
import type { BenchStack } from './run.ts';
import { createFraudActivities } from '../activities/fraud.ts';
import { createDatabasePool } from '../db/pool.ts';
import { betaEdgeStart } from './support/beta-edge.ts';
import { DEFAULT_STARTER_CONCURRENCY } from '../platform/env.ts';
import { flag, fmt, measure, pace, percentile, type Measured } from './_measure.ts';
import { start, stop, systemEnv } from './_process.ts';

const SERVER_KEY = 'server_bench_key_0123456789';

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const count = flag(args, 'count', 5000);
  const concurrency = flag(args, 'concurrency', 8);
  const rounds = flag(args, 'rounds', 3);
  const starterConcurrency = flag(args, 'starter-concurrency', DEFAULT_STARTER_CONCURRENCY);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 16 });

  // Bare limit 1: single-row inserts, same concurrency.
  await pool.query(
    'CREATE TABLE bench_bare (id bigserial PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
  );
  const bareInsert = await measure(
    count,
    concurrency,
    async (i) => void (await pool.query('INSERT INTO bench_bare (email) VALUES ($1)', [`bare-${i}@x.co`])),
  );

  // The API, the worker and the relays as their own processes, as in production.
  const port = await freePort();
  const env = systemEnv(databaseUrl, temporalAddress, {
    PORT: String(port),
    API_KEYS: `server:${SERVER_KEY}`,
    API_PROCESSES: process.env.API_PROCESSES ?? '1',
    WORKFLOW_STARTER_CONCURRENCY: String(starterConcurrency),
    RATE_LIMIT_PER_MINUTE: '100000000', // one load generator IP: the per-IP limit is not what is measured
  });
  const api = start('api/server.ts', env);
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the API', async () => {
    if ((await fetch(`${base}/healthz`)).status !== 200) throw new Error('not up');
  });
  // node:http with keep-alive rather than fetch: the load generator shares the machine's two
  // cores with everything it measures, so it should spend as little of them as it can.
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const postTo = (to: string, body: unknown, headers: Record<string, string> = {}) =>
    new Promise<{ user: { id: string } }>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = http.request(
        `${to}/v1/signups`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 201) reject(new Error(`signup answered ${res.statusCode}: ${text}`));
            else resolve(JSON.parse(text));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const post = (body: unknown) => postTo(base, body);
  const referrers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => post({ email: `referrer-${i}@bench.example` })),
  );
  const signup = (i: number) =>
    post({ email: `referee-${i}@bench.example`, ref: referrers[i % referrers.length]!.user.id }).then(() => {});

  // 1. Signups alone: the request commits to PostgreSQL and returns; no workflow start on its path.
  const signups = await measure(count, concurrency, signup);

  // 2a. The starter's own rate next to the bare Temporal start rate, in `rounds` rounds, each on
  //     fresh, empty dev servers (the dev server slows as it holds more workflows: measured 643/s
  //     empty, 477/s with 9,000 more, so every rate is taken from an empty one) and alternating,
  //     so noise on this shared machine falls on both alike; medians reported. In each round: bare
  //     trivial starts, bare starts carrying an edge's arguments and search attributes, then the
  //     relay process alone draining a backlog of `count` signups into its own fresh server (the
  //     workflows wait for a worker). Every rate is the server's: its StartTimes, first to last.
  const payload = betaEdgeStart();
  const edgeStartOptions = {
    args: payload.args,
    typedSearchAttributes: payload.searchAttributes,
    staticSummary: payload.summary,
  };
  const bareRound = (options: object) =>
    onFreshServer(async (client) => {
      await measure(
        count,
        starterConcurrency,
        async (i) =>
          void (await client.workflow.start('bareWorkflow', {
            workflowId: `bare-${i}`,
            taskQueue: 'bench-bare',
            ...options,
          })),
      );
      return serverStartRate(client, count);
    });
  const bareStarts: Rated[] = [];
  const bareEdgeStarts: Rated[] = [];
  const starterRounds: Rated[] = [];
  let signedUp = count;
  for (let round = 0; round < rounds; round++) {
    bareStarts.push(await bareRound({}));
    bareEdgeStarts.push(await bareRound(edgeStartOptions));
    if (round > 0) {
      await measure(count, concurrency, (i) => signup(signedUp + i));
      signedUp += count;
    }
    starterRounds.push(
      await onFreshServer(async (client, address) => {
        const relays = start('workers/relays.ts', { ...env, TEMPORAL_ADDRESS: address });
        await drained(pool);
        await stop(relays);
        return serverStartRate(client, count);
      }, 'child'),
    );
  }
  const median = (rated: Rated[]) =>
    [...rated].sort((x, y) => x.perSecond - y.perSecond)[Math.floor(rated.length / 2)]!;
  const bareStart = median(bareStarts);
  const bareEdgeStart = median(bareEdgeStarts);
  const starterAlone = median(starterRounds);
  const relays = start('workers/relays.ts', env);

  // 2b. The worker runs them; then a second backlog of `count` edges is written and started with
  //     everything running: starts and the workflows' first tasks share the machine.
  const worker = start('workers/main.ts', env);
  await new Promise((r) => setTimeout(r, 5_000));
  const {
    rows: [before],
  } = await pool.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM workflow_outbox');
  await relaysPaused(pool, true);
  await measure(count, concurrency, (i) => signup(signedUp + i));
  await relaysPaused(pool, false);
  await drained(pool);
  const backlog = await startStats(pool, Number(before!.id));

  // 3. Lag from signup to running workflow under a steady signup load the starter can follow
  //    (half the rate it drained the backlog at), worker running.
  const lagRate = Math.max(1, Math.round(backlog.perSecond / 2));
  const lagCount = lagRate * 15;
  const {
    rows: [mark],
  } = await pool.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM workflow_outbox');
  const paced = await pace(lagCount, lagRate, (i) => signup(signedUp + count + i));
  await drained(pool);
  const steady = await startStats(pool, Number(mark!.id));

  await Promise.all([stop(api), stop(worker), stop(relays)]);

  // 4. The signups of 1 carrying a device id and a client address (a trusted proxy's
  //     X-Forwarded-For, 5,000 devices over 20,000 addresses of the big networks), through an API
  //     process with the fraud rules on and one with them off, in `rounds` rounds, the order
  //     alternating so the growing tables weigh on both alike; medians reported. Last, with the
  //     worker and relays stopped, so their outbox rows start nothing measured here.
  const rulesRounds: Record<'on' | 'off', Measured[]> = { on: [], off: [] };
  let signalled = 0;
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const modePort = await freePort();
      const modeApi = start('api/server.ts', {
        ...env,
        PORT: String(modePort),
        FRAUD_RULES: mode,
        TRUST_PROXY: 'loopback',
      });
      const modeBase = `http://127.0.0.1:${modePort}`;
      await waitFor(`the API with the rules ${mode}`, async () => {
        if ((await fetch(`${modeBase}/healthz`)).status !== 200) throw new Error('not up');
      });
      const first = signalled;
      rulesRounds[mode].push(
        await measure(count, concurrency, async (j) => {
          const i = first + j;
          await postTo(
            modeBase,
            {
              email: `signal-${i}@bench.example`,
              ref: referrers[i % referrers.length]!.user.id,
              deviceId: `device-${i % 5_000}`,
            },
            {
              'x-forwarded-for': `${[1, 8, 24, 45, 66, 81, 98, 104, 151, 185][i % 10]}.${(i >> 8) % 200}.${i % 100}.7`,
            },
          );
        }),
      );
      signalled += count;
      await stop(modeApi);
    }
  }
  const medianOf = (runs: Measured[]) =>
    [...runs].sort((x, y) => x.perSecond - y.perSecond)[Math.floor(runs.length / 2)]!;
  const [rulesOn, rulesOff] = [medianOf(rulesRounds.on), medianOf(rulesRounds.off)];

  // 5. The edge-write rules themselves: what the edge's workflow runs first (the screenEdge
  //     activity: gather the facts, run every rule, store each verdict, hold or block), over the
  //     edges phase 4 wrote with their signals, at the same concurrency. It runs in the worker,
  //     after the signup answered; it keeps up when it screens faster than signups arrive.
  const slonik = await createDatabasePool(databaseUrl, concurrency + 2);
  const { screenEdge } = createFraudActivities({ db: slonik });
  const { rows: screened } = await pool.query<{ id: string }>(
    `SELECT e.id FROM edges e JOIN users u ON u.id = e.referee_id WHERE u.email LIKE 'signal-%' ORDER BY e.created_at LIMIT $1`,
    [count],
  );
  const decisions: Record<string, number> = {};
  const screening = await measure(screened.length, concurrency, async (i) => {
    const result = await screenEdge({ edgeId: screened[i]!.id, stage: 'edge_write' });
    decisions[result.decision] = (decisions[result.decision] ?? 0) + 1;
  });
  await slonik.end();
  agent.destroy();
  await pool.end();

  console.log(`\nsignups with ref, ${fmt(count)} at concurrency ${concurrency} (errors: ${signups.errors})`);
  console.log(
    `  POST /v1/signups         ${fmt(signups.perSecond)}/s   p50 ${fmt(signups.p50, 1)} ms   p99 ${fmt(signups.p99, 1)} ms`,
  );
  console.log(
    `  bare PostgreSQL insert   ${fmt(bareInsert.perSecond)}/s   p50 ${fmt(bareInsert.p50, 1)} ms   p99 ${fmt(bareInsert.p99, 1)} ms`,
  );
  console.log(`  ratio                    ${fmt((100 * signups.perSecond) / bareInsert.perSecond)}% of bare inserts`);
  const runs = (mode: 'on' | 'off') => rulesRounds[mode].map((r) => fmt(r.perSecond)).join(', ');
  console.log(
    `signups with a device id and an address, fraud rules on and off, ${fmt(count)} each at concurrency ${concurrency}, ${rounds} rounds; medians (rounds: ...)`,
  );
  console.log(
    `  rules on                 ${fmt(rulesOn.perSecond)}/s (${runs('on')})   p50 ${fmt(rulesOn.p50, 1)} ms   p99 ${fmt(rulesOn.p99, 1)} ms`,
  );
  console.log(
    `  rules off                ${fmt(rulesOff.perSecond)}/s (${runs('off')})   p50 ${fmt(rulesOff.p50, 1)} ms   p99 ${fmt(rulesOff.p99, 1)} ms`,
  );
  console.log(
    `  ratio                    ${fmt((100 * rulesOn.perSecond) / rulesOff.perSecond)}% of the rate with the rules off (target >= 80%)`,
  );
  console.log(
    `  screening at edge write  ${fmt(screening.perSecond)}/s   p50 ${fmt(screening.p50, 1)} ms   p99 ${fmt(screening.p99, 1)} ms   (${fmt(screened.length)} of those edges, every rule, in-process at concurrency ${concurrency}; ${fmt((100 * screening.perSecond) / rulesOn.perSecond)}% of the signup rate with the rules on; decisions ${JSON.stringify(decisions)})`,
  );
  const rates = (rated: Rated[]) => rated.map((r) => fmt(r.perSecond)).join(', ');
  const cpu = (r: Rated, who: string) =>
    `${who} ${fmt(r.processCpuMs / count, 2)} ms CPU per start, machine ${fmt(r.machineBusy)}% busy`;
  console.log(
    `edge workflows started from a backlog of ${fmt(count)} by the relay process's starter (${starterConcurrency} in flight), ${rounds} rounds, each on empty dev servers; medians (rounds: ...)`,
  );
  console.log(
    `  starter, no worker       ${fmt(starterAlone.perSecond)}/s (${rates(starterRounds)})   ${fmt((100 * starterAlone.perSecond) / bareStart.perSecond)}% of bare starts, ${fmt((100 * starterAlone.perSecond) / bareEdgeStart.perSecond)}% of bare starts with an edge's arguments`,
  );
  console.log(
    `  bare Temporal start      ${fmt(bareStart.perSecond)}/s (${rates(bareStarts)})   (${fmt(count)} trivial starts at concurrency ${starterConcurrency}, as the starter; no worker)`,
  );
  console.log(
    `  bare, edge payload       ${fmt(bareEdgeStart.perSecond)}/s (${rates(bareEdgeStarts)})   (the same starts with an edge's arguments and search attributes)`,
  );
  console.log(
    `    CPU                    ${cpu(starterAlone, 'relay process')}; ${cpu(bareEdgeStart, 'bare load generator')}`,
  );
  console.log(
    `  starter, worker running  ${fmt(backlog.perSecond)}/s   ${fmt((100 * backlog.perSecond) / bareStart.perSecond)}% of bare starts (into the run's server with the worker running each new workflow's first task meanwhile; rate from the relay's marks)`,
  );
  console.log(
    `lag signup -> running workflow under ${fmt(paced.perSecond)} signups/s for ${fmt(paced.seconds)} s (${fmt(steady.count)} edges, worker running)`,
  );
  console.log(
    `  p50 ${fmt(steady.lagP50)} ms   p99 ${fmt(steady.lagP99)} ms   (signup p99 meanwhile ${fmt(paced.p99, 1)} ms)`,
  );
}

async function drained(pool: pg.Pool): Promise<void> {
  await waitFor(
    'the outbox to drain',
    async () => {
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM workflow_outbox WHERE started_at IS NULL');
      if (rows[0].n > 0) throw new Error(`${rows[0].n} pending`);
    },
    600_000,
  );
}

/** Start rate over the rows after `afterId` (first to last start), and their signup -> start lag. */
async function startStats(pool: pg.Pool, afterId: number) {
  const { rows } = await pool.query<{ lag_ms: string; started: string }>(
    `SELECT extract(epoch FROM started_at - created_at) * 1000 AS lag_ms, extract(epoch FROM started_at) AS started FROM workflow_outbox WHERE id > $1`,
    [afterId],
  );
  const lags = rows.map((r) => Number(r.lag_ms)).sort((a, b) => a - b);
  const starts = rows.map((r) => Number(r.started)).sort((a, b) => a - b);
  return {
    count: rows.length,
    perSecond: rows.length / Math.max(0.001, starts[starts.length - 1]! - starts[0]!),
    lagP50: percentile(lags, 0.5),
    lagP99: percentile(lags, 0.99),
  };
}

/** Holds the starter back (its claims skip leased rows) so a backlog can be written first. */
async function relaysPaused(pool: pg.Pool, paused: boolean): Promise<void> {
  await pool.query(
    paused
      ? `ALTER TABLE workflow_outbox ALTER COLUMN claimed_until SET DEFAULT now() + interval '1 hour'`
      : `ALTER TABLE workflow_outbox ALTER COLUMN claimed_until DROP DEFAULT`,
  );
  if (!paused) await pool.query('UPDATE workflow_outbox SET claimed_until = NULL WHERE started_at IS NULL');
}

type Rated = { perSecond: number; processCpuMs: number; machineBusy: number };

/**
 * Runs `work` against a Temporal dev server of its own, started empty and stopped after, with the
 * CPU it took: this process's (the load generator), or (`cpuOf: 'child'`) that of the child
 * process `work` starts and stops (the relay, its start-up included), and how busy the machine was.
 */
async function onFreshServer(
  work: (client: Client, address: string) => Promise<{ perSecond: number }>,
  cpuOf: 'self' | 'child' = 'self',
): Promise<Rated> {
  const server = await startLocalTemporal({
    cli: ensureTemporalCli(),
    port: await freePort(),
    uiPort: null,
    dbFile: null,
  });
  const connection = await Connection.connect({ address: server.address });
  try {
    const cpu = () => cpuMs(cpuOf === 'self' ? 'self' : 'children');
    const [p0, m0] = [cpu(), machineTicks()];
    const { perSecond } = await work(new Client({ connection }), server.address);
    const [p1, m1] = [cpu(), machineTicks()];
    return {
      perSecond,
      processCpuMs: p1 - p0,
      machineBusy: (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total),
    };
  } finally {
    await connection.close();
    await server.stop();
  }
}

/** Starts per second as the server recorded them: every workflow's StartTime, first to last. */
async function serverStartRate(client: Client, count: number): Promise<{ perSecond: number }> {
  let first = Infinity;
  let last = -Infinity;
  let seen = 0;
  await waitFor(
    'visibility to list every start',
    async () => {
      [first, last, seen] = [Infinity, -Infinity, 0];
      for await (const execution of client.workflow.list()) {
        const t = execution.startTime.getTime();
        first = Math.min(first, t);
        last = Math.max(last, t);
        seen += 1;
      }
      if (seen < count) throw new Error(`${seen} of ${count} listed`);
    },
    120_000,
  );
  return { perSecond: (seen - 1) / Math.max(0.001, (last - first) / 1000) };
}

/** User + system CPU in ms of this process, or of its children that have exited (/proc/self/stat, ticks of 10 ms). */
function cpuMs(whose: 'self' | 'children'): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const [user, system] = whose === 'self' ? [fields[11], fields[12]] : [fields[13], fields[14]];
  return (Number(user) + Number(system)) * 10;
}

function machineTicks(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}
