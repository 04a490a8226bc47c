// `npm run bench -- launch [--edges 100000] [--referrers <edges/10>] [--sample 200] [--bare 5000]`:
// the launch flip over `edges` beta auto-enrolled edges whose workflows are running (the worker and
// the relays as their own processes, as in production):
//   (a) how soon after the flip's commit payments on every edge are priced at the public tier:
//       the check the pricing activity makes (pricingContext + pricePayment) on a sample, one query
//       over all edges reading what pricing reads, and real payments sent 1 s after the commit to
//       `sample` activated edges the workflow has not told yet, priced end to end;
//   (b) the flip workflow's conversion rate (edges told per second, commit to finish), next to the
//       bare rate of the same run at which trivial workflows receive and handle one signal each,
//       worker included, sent at the flip's concurrency.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import pg from 'pg';
import { createDatabasePool } from '../db/pool.ts';
import { pricingContext } from '../db/pricing.ts';
import { LAUNCH_SIGNAL_CONCURRENCY } from '../activities/launch.ts';
import { DEFAULT_COMMISSION_SETTINGS, isSelfPurchase, pricePayment } from '../domain/commission.ts';
import { launchProgram } from '../services/launch.ts';
import { recordActivation } from '../services/activations.ts';
import { recordPayment } from '../services/payments.ts';
import { EDGE_SUBJECT, type EdgeLifecycleInput } from '../contracts/edge-lifecycle.ts';
import type { WorkflowStart } from '../contracts/workflow-start.ts';
import { betaEdgeStart } from './support/beta-edge.ts';
import { waitFor } from '../scripts/ports.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt, measure } from './_measure.ts';
import { start, stop, systemEnv } from './_process.ts';

const BATCH = 5_000;
const START_CONCURRENCY = 64;

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const edges = flag(args, 'edges', 100_000);
  const referrers = flag(args, 'referrers', Math.max(1, Math.round(edges / 10)));
  const sampleSize = Math.min(edges, flag(args, 'sample', 200));
  const bareCount = Math.min(edges, flag(args, 'bare', 5_000));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  const db = await createDatabasePool(databaseUrl, 8);
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const taskQueue = 'bench-launch';
  const env = systemEnv(databaseUrl, temporalAddress, {
    TEMPORAL_TASK_QUEUE: taskQueue,
    API_KEYS: 'admin:bench_admin_key_0123456789',
  });
  const say = (line: string) => console.error(`[launch] ${line}`);
  const t0 = performance.now();
  const since = () => `${fmt((performance.now() - t0) / 1000)} s`;

  // 1. The beta graph in bulk: referrers, referees, beta auto-enrolled edges, their outbox start
  //    rows (marked started: the bench starts the workflows itself, faster than the relay).
  const referrerIds = Array.from({ length: referrers }, () => randomUUID());
  await pool.query(
    `
    WITH t AS (INSERT INTO tenants (id, name, owner_user_id) SELECT id, 'bench-referrer', id FROM unnest($1::uuid[]) AS id RETURNING id)
    INSERT INTO users (id, tenant_id, email, inbox, referral_code) SELECT id, id, id || '@referrers.bench', id || '@referrers.bench', 'r' || substr(md5(id::text), 1, 11) FROM t`,
    [referrerIds],
  );
  const starts: WorkflowStart[] = [];
  const writtenAt = new Date();
  for (let from = 0; from < edges; from += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, edges - from) }, (_, i) =>
      betaEdgeStart({ referrer_id: referrerIds[(from + i) % referrers]!, created_at: writtenAt }),
    );
    const edgesOf = batch.map((s) => s.args[0] as EdgeLifecycleInput);
    starts.push(...batch);
    await pool.query(
      `
      WITH t AS (INSERT INTO tenants (id, name, owner_user_id) SELECT id, 'bench-referee', id FROM unnest($2::uuid[]) AS id),
           u AS (INSERT INTO users (id, tenant_id, email, inbox, referral_code) SELECT id, id, id || '@referees.bench', id || '@referees.bench', 'e' || substr(md5(id::text), 1, 11) FROM unnest($2::uuid[]) AS id RETURNING id),
           e AS (INSERT INTO edges (id, referrer_id, referee_id, source, kind, phase_at_write, activation_window_days, created_at)
                 SELECT x.id, x.referrer, x.referee, 'link', 'beta_auto', 'beta', 30, $4 FROM unnest($1::uuid[], $3::uuid[], $2::uuid[]) AS x(id, referrer, referee) JOIN u ON u.id = x.referee RETURNING id)
      INSERT INTO workflow_outbox (subject, subject_id, started_at, outcome)
      SELECT $5, e.id, now(), 'delivered' FROM e`,
      [
        edgesOf.map((e) => e.edgeId),
        edgesOf.map((e) => e.refereeId),
        edgesOf.map((e) => e.referrerId),
        writtenAt,
        EDGE_SUBJECT,
      ],
    );
  }
  say(`${fmt(edges)} beta edges of ${fmt(referrers)} referrers written (${since()})`);

  // 2. Their workflows, started through the client, the worker running their first tasks.
  let worker = start('workers/main.ts', env);
  const relays = start('workers/relays.ts', env);
  // Interrupted (run.ts stops the servers and exits): take the processes along.
  process.once(
    'exit',
    () => void [worker, relays].forEach((child) => child.exitCode === null && child.kill('SIGTERM')),
  );
  const started = await measure(edges, START_CONCURRENCY, async (i) => {
    const s = starts[i]!;
    await client.workflow.start(s.workflowType, {
      workflowId: s.workflowId,
      taskQueue,
      args: s.args,
      typedSearchAttributes: s.searchAttributes,
      staticSummary: s.summary,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    if (i % 10_000 === 9_999) say(`${fmt(i + 1)} edge workflows started (${since()})`);
  });
  say(`${fmt(edges)} edge workflows started at ${fmt(started.perSecond)}/s (${started.errors} errors)`);

  // The sample pays after the flip: the edges the flip tells last (highest ids), activated now.
  const { rows: sample } = await pool.query<{ id: string; referee_id: string }>(
    `SELECT id, referee_id FROM edges ORDER BY id DESC LIMIT $1`,
    [sampleSize],
  );
  await measure(
    sample.length,
    16,
    async (i) => void (await recordActivation({ db, temporal: client, taskQueue }, { userId: sample[i]!.referee_id })),
  );
  await waitFor(
    'the sample to vest',
    async () => {
      const {
        rows: [v],
      } = await pool.query(`SELECT count(*)::int AS n FROM edges WHERE vested_at IS NOT NULL`);
      if (v.n < sample.length) throw new Error(`${v.n} vested`);
    },
    600_000,
  );
  // Every first task done (the worker idle) before anything is measured.
  await waitFor(
    "the edge workflows' first tasks",
    () =>
      noTaskPending(
        client,
        starts.slice(-20).map((s) => s.workflowId),
      ),
    1_800_000,
  );
  await new Promise((r) => setTimeout(r, 3_000));
  say(`sample of ${sample.length} activated; measuring the bare limit (${since()})`);

  // 3. Bare limit, same run, same server: trivial workflows each receiving and handling one signal,
  //    their worker in its own process, signals sent at the flip's concurrency.
  await stop(worker);
  const bareQueue = 'bench-launch-bare';
  const signalWorker = start(
    'bench/support/signal-worker.ts',
    { ...process.env, TEMPORAL_ADDRESS: temporalAddress, BENCH_TASK_QUEUE: bareQueue },
    { ipc: true },
  );
  await new Promise<void>((resolve, reject) => {
    signalWorker.once('message', () => resolve());
    signalWorker.once('exit', (code) => reject(new Error(`the signal worker exited (${code})`)));
  });
  const counters: Awaited<ReturnType<typeof client.workflow.start>>[] = [];
  await measure(
    bareCount,
    START_CONCURRENCY,
    async (i) =>
      void (counters[i] = await client.workflow.start('signalCounter', {
        workflowId: `bare-signal-${i}`,
        taskQueue: bareQueue,
        args: [1],
      })),
  );
  await waitFor(
    "the bare workflows' first tasks",
    () =>
      noTaskPending(
        client,
        counters.slice(-20).map((h) => h.workflowId),
      ),
    600_000,
  );
  await new Promise((r) => setTimeout(r, 3_000));
  // Handled = the workflow completed on its signal, as visibility shows it (the flip's edges are
  // timed the same way below: handled = visibility shows their new phase).
  const bareStarted = performance.now();
  const bareSend = await measure(
    bareCount,
    LAUNCH_SIGNAL_CONCURRENCY,
    async (i) => void (await counters[i]!.signal('tick', i)),
  );
  const bareSeconds =
    ((await whenCount(client, `TaskQueue = "${bareQueue}" AND ExecutionStatus = "Completed"`, bareCount, 250)) -
      bareStarted) /
    1000;
  const bareRate = bareCount / bareSeconds;
  await stop(signalWorker);
  say(`bare: ${fmt(bareRate, 1)} signals handled/s (${since()})`);

  // 4. The flip.
  worker = start('workers/main.ts', env);
  await new Promise((r) => setTimeout(r, 5_000));
  const flipCalled = performance.now();
  const flipped = await launchProgram({ db, taskQueue }, { startedBy: 'bench' });
  const committedAt = performance.now(); // the call returns right after its transaction committed
  const flipCallMs = committedAt - flipCalled;
  if (flipped.launch.total !== edges)
    throw new Error(`the flip counted ${flipped.launch.total} beta edges, not ${edges}`);
  const handled = whenCount(
    client,
    `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running" AND EdgeKind = "beta_auto" AND ProgramPhase = "beta"`,
    0,
    500,
    'at most',
  );

  // (a) What pricing reads, checked until every edge prices at the public tier.
  const sampleEdges = sample.map((s) => s.id);
  let checks = 0;
  let effectiveMs = NaN;
  let samplePublic = 0;
  let allPublic = 0;
  for (;;) {
    checks += 1;
    const contexts = await Promise.all(sampleEdges.map((id) => pricingContext(db, id)));
    samplePublic = contexts.filter(
      (c) =>
        c &&
        pricePayment({
          kind: c.kind,
          phase: c.phase,
          partner: null,
          selfPurchase: isSelfPurchase(c.referrer, c.referee),
          amountCents: 10_000,
          paidAt: new Date(),
          firstPaymentAt: null,
          settings: DEFAULT_COMMISSION_SETTINGS,
        }).status === 'earned',
    ).length;
    const {
      rows: [bulk],
    } = await pool.query(
      `SELECT count(*) FILTER (WHERE prog.phase = 'public')::int AS n FROM edges e CROSS JOIN program prog WHERE e.kind = 'beta_auto'`,
    );
    allPublic = bulk.n;
    if (samplePublic === sampleEdges.length && allPublic === edges) {
      effectiveMs = performance.now() - committedAt;
      break;
    }
    if (performance.now() - committedAt > 60_000) break;
  }

  // (a) Real payments 1 s after the commit on edges the flip has not reached.
  await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (performance.now() - committedAt))));
  const paidAt = performance.now();
  await measure(
    sample.length,
    16,
    async (i) =>
      void (await recordPayment(
        { db },
        { paymentId: `bench-launch-${i}`, userId: sample[i]!.referee_id, amountCents: 10_000, currency: 'USD' },
      )),
  );
  await waitFor(
    'the sample payments to be priced',
    async () => {
      const {
        rows: [p],
      } = await pool.query(`SELECT count(*)::int AS n FROM payments WHERE priced_at IS NULL`);
      if (p.n > 0) throw new Error(`${p.n} waiting`);
    },
    600_000,
  );
  const pricedMs = performance.now() - paidAt;
  const {
    rows: [pricing],
  } = await pool.query(
    `
    SELECT count(*) FILTER (WHERE commission_status = 'earned' AND (pricing -> 'terms' ->> 'salesBps')::int = 1000)::int AS earned, count(*)::int AS n,
           (SELECT count(*)::int FROM edges e, launch l WHERE e.id = ANY($1::uuid[]) AND (l.cursor IS NULL OR e.id > l.cursor)) AS untold
    FROM payments`,
    [sampleEdges],
  );

  // (b) The conversion: told (the flip's record, commit to finish) and handled (visibility shows
  // no running beta auto-enrolled edge left in beta).
  const handledAt = await handled;
  const result = await client.workflow.getHandle(flipped.launch.workflowId!).result();
  const {
    rows: [l],
  } = await pool.query(`SELECT extract(epoch FROM finished_at - started_at) AS seconds FROM launch`);
  const toldSeconds = Number(l.seconds);
  const handledSeconds = (handledAt - committedAt) / 1000;
  const rate = result.converted / handledSeconds;
  await Promise.all([stop(worker), stop(relays)]);
  await connection.close();
  await db.end();
  await pool.end();

  console.log(
    `\nlaunch flip over ${fmt(edges)} beta edges (${fmt(referrers)} referrers) with running workflows (worker and relays as processes; edge workflows started at ${fmt(started.perSecond)}/s)`,
  );
  console.log(
    `  the flip's transaction          ${fmt(flipCallMs, 1)} ms (phase public, ${fmt(edges)} beta edges counted, the record and the workflow's start written)`,
  );
  console.log(
    `  (a) priced at the public tier   by ${fmt(effectiveMs, 1)} ms after the commit (${checks === 1 ? 'the first check, started at the commit, found it' : `${checks} checks`}): pricing's own read (pricingContext + pricePayment) on ${sampleEdges.length} edges earned ${samplePublic}/${sampleEdges.length}, the phase pricing reads is public for ${fmt(allPublic)}/${fmt(edges)} edges`,
  );
  console.log(
    `      real payments at +1 s       ${pricing.earned}/${pricing.n} priced at the beta tier (1,000 bps) end to end in ${fmt(pricedMs)} ms; ${pricing.untold} of their edges not yet told by the flip when all were priced`,
  );
  console.log(
    `  (b) conversion                 ${fmt(rate, 1)} edges/s handled (commit until visibility shows none left in beta: ${fmt(handledSeconds, 1)} s); told ${fmt(result.converted)}, skipped ${result.skipped}, at ${fmt(result.converted / toldSeconds, 1)}/s (commit to the flip's finish, ${fmt(toldSeconds, 1)} s; ${fmt(result.partnersEnrolled)} partners enrolled first)`,
  );
  console.log(
    `      bare signal handling       ${fmt(bareRate, 1)}/s   (${fmt(bareCount)} trivial workflows x 1 signal, worker included, concurrency ${LAUNCH_SIGNAL_CONCURRENCY}, until visibility shows them completed; signals accepted at ${fmt(bareSend.perSecond)}/s)`,
  );
  console.log(`      ratio                      ${fmt((100 * rate) / bareRate)}% of bare signal handling`);
}

/**
 * When (performance.now()) visibility first counts `target` (or, 'at most', no more than it) workflows matching
 * `query`.
 */
async function whenCount(
  client: Client,
  query: string,
  target: number,
  everyMs: number,
  mode: 'exactly' | 'at most' = 'exactly',
): Promise<number> {
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (mode === 'exactly' ? count >= target : count <= target) return performance.now();
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves once none of these workflows (the last started: tasks are served in order) has a workflow task pending. */
async function noTaskPending(client: Client, workflowIds: readonly string[]): Promise<void> {
  for (const id of workflowIds) {
    if ((await client.workflow.getHandle(id).describe()).raw.pendingWorkflowTask)
      throw new Error(`${id} has a workflow task pending`);
  }
}
