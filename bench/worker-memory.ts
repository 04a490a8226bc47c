// Worker memory with many open edges: `count` edge workflows started and left waiting for
// activation (their 30-day timer), run by the real worker process (workers/main.ts, as in
// production: workflows bundled at start in a child process, V8 flags of its own), with its RSS sampled every second.
// The requirement:
// a worker holding 100,000 open edges stays under 512 MB RSS, since the workflows wait on the
// server and only the last `maxCachedWorkflows` stay in the worker's cache. The bare figure of the
// same run is the same worker idle, before any workflow.
//   npm run bench -- worker-memory [--count 100000] [--concurrency 32] [--activate-fraction 0] [--prebuilt-bundle]
// --prebuilt-bundle: the worker loads a bundle built beforehand (WORKFLOW_BUNDLE, as the tests do)
// instead of bundling at start. NODE_OPTIONS from the environment reaches the worker too.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { waitFor } from '../scripts/ports.ts';
import { activatedSignal } from '../contracts/edge-lifecycle.ts';
import { betaEdgeStart } from './support/beta-edge.ts';
import { WORKFLOWS_PATH } from '../workers/worker-options.ts';
import type { ActivationEvent } from '../domain/lifecycle.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt, measure } from './_measure.ts';

const root = join(import.meta.dirname, '..');
const LIMIT_MB = 512;
const NAMESPACE = 'default';
const { TaskQueueType, WorkflowExecutionStatus } = proto.temporal.api.enums.v1;

type Memory = { rssMb: number; hwmMb: number; anonMb: number; fileMb: number };
type Sample = { at: number; rssMb: number; anonMb: number; fileMb: number };

/** VmRSS, VmHWM (peak RSS) and the RSS's anonymous (heaps) and file-backed (code) parts of a process, in MB. */
function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return {
    rssMb: kb('VmRSS') / 1024,
    hwmMb: kb('VmHWM') / 1024,
    anonMb: kb('RssAnon') / 1024,
    fileMb: kb('RssFile') / 1024,
  };
}

/** The command line a process runs and its MALLOC_ARENA_MAX (the worker replaces itself once to add them). */
function commandOf(pid: number): string {
  const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter(Boolean)
    .map((a) => (a.startsWith('/') ? a.split('/').slice(-2).join('/') : a))
    .join(' ');
  const arenas = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((e) => e.startsWith('MALLOC_ARENA_MAX='));
  return `${command}${arenas ? `   (${arenas})` : ''}`;
}

/** Resets VmHWM to the current RSS (Linux: `echo 5 > /proc/<pid>/clear_refs`); false when not allowed. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error('worker: still running 60 s after SIGTERM, killing it');
    child.kill('SIGKILL');
  }, 60_000);
  await exited;
  clearTimeout(timer);
}

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const count = flag(args, 'count', 100_000);
  const concurrency = flag(args, 'concurrency', 32);
  const activateFraction = flag(args, 'activate-fraction', 0);
  const activationWindowDays = 30;
  const taskQueue = `bench-worker-memory-${randomUUID().slice(0, 8)}`;
  // Evenly spread: that fraction of the workflows gets the `activated` signal right after its start.
  const activates = (i: number) => Math.floor((i + 1) * activateFraction) > Math.floor(i * activateFraction);
  const activatedCount = Array.from({ length: count }, (_, i) => i).filter(activates).length;

  const prebuilt = args.includes('--prebuilt-bundle');
  const bundleDir = prebuilt ? mkdtempSync(join(tmpdir(), 'worker-memory-bundle-')) : null;
  if (bundleDir) {
    const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
    writeFileSync(
      join(bundleDir, 'workflow-bundle.js'),
      (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet })).code,
    );
  }

  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: NAMESPACE });

  // The worker as in production: its own process, workflows bundled from source at start (a
  // WORKFLOW_BUNDLE from the caller's environment would skip that, so it is dropped), unless
  // --prebuilt-bundle asks for the variant.
  const { WORKFLOW_BUNDLE: _bundle, ...inherited } = process.env;
  const worker = spawn(process.execPath, [join(root, 'workers/main.ts')], {
    env: {
      ...inherited,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TASK_QUEUE: taskQueue,
      API_KEYS: 'server:server_bench_key_0123456789',
      SESSION_SECRET: 'bench-session-secret-0123456789-abcdefghij',
      LOG_LEVEL: 'warn',
      ACTIVATION_WINDOW_DAYS: String(activationWindowDays),
      ...(bundleDir ? { WORKFLOW_BUNDLE: join(bundleDir, 'workflow-bundle.js') } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const workerExited = new Promise<never>((_, reject) =>
    worker.once('exit', (code, signal) =>
      reject(new Error(`the worker exited early (code ${code}, signal ${signal})`)),
    ),
  );
  workerExited.catch(() => {}); // only raced below; a late exit is ours
  const pid = worker.pid!;

  const samples: Sample[] = [];
  let sampler: NodeJS.Timeout | undefined;
  let progress: NodeJS.Timeout | undefined;
  try {
    // Idle: the worker is up once it polls its task queue; a few seconds later it has settled.
    const spawnedAt = performance.now();
    await Promise.race([
      waitFor(
        'the worker polling its task queue',
        async () => {
          const { pollers } = await client.workflowService.describeTaskQueue({
            namespace: NAMESPACE,
            taskQueue: { name: taskQueue },
            taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          });
          if (!pollers?.length) throw new Error('no poller yet');
        },
        120_000,
      ),
      workerExited,
    ]);
    const readySeconds = (performance.now() - spawnedAt) / 1000;
    await new Promise((r) => setTimeout(r, 3_000));
    const idle = memoryOf(pid);
    const command = commandOf(pid);
    // From here the peak is the loaded worker's, not the start-up's (bundling the workflows).
    const peakReset = resetPeak(pid);

    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    sampler = setInterval(() => {
      try {
        const { rssMb, anonMb, fileMb } = memoryOf(pid);
        samples.push({ at: elapsed(), rssMb, anonMb, fileMb });
      } catch {
        // the worker is gone; the race below reports it
      }
    }, 1_000);

    let started = 0;
    let caughtUp = false;
    const backlog = async () => {
      const { stats } = await client.workflowService.describeTaskQueue({
        namespace: NAMESPACE,
        taskQueue: { name: taskQueue },
        taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        reportStats: true,
      });
      return Number(stats?.approximateBacklogCount ?? 0);
    };
    progress = setInterval(() => {
      const last = samples[samples.length - 1];
      void backlog()
        .catch(() => NaN)
        .then((n) =>
          console.error(
            `  ${fmt(elapsed())} s: ${fmt(started)} started, backlog ${fmt(n)}${caughtUp ? ', worker caught up' : ''}, worker RSS ${last ? fmt(last.rssMb) : '?'} MB`,
          ),
        );
    }, 10_000);

    // Start `count` edges as the outbox starter would: edge arguments, six search attributes.
    const ids: string[] = new Array(count);
    const starts = measure(count, concurrency, async (i) => {
      const now = new Date();
      const {
        workflowId,
        workflowType,
        args: wfArgs,
        searchAttributes,
        summary,
      } = betaEdgeStart({
        created_at: now,
        activation_window_days: activationWindowDays,
      });
      ids[i] = workflowId;
      await client.workflow.start(workflowType, {
        workflowId,
        taskQueue,
        args: wfArgs,
        typedSearchAttributes: searchAttributes,
        staticSummary: summary,
      });
      started++;
      if (activates(i)) {
        const event: ActivationEvent = { eventId: randomUUID(), activatedAt: now.toISOString() };
        await client.workflow.getHandle(workflowId).signal(activatedSignal, event);
      }
    });
    const startup = await Promise.race([starts, workerExited]);
    if (startup.errors > 0) throw new Error(`${startup.errors} of ${count} starts failed`);

    // Caught up: the workflow task queue's backlog is empty (stats from the server), then every
    // workflow confirmed by its own description: its first task done (waiting on the timer, no
    // task pending) or, when activated, completed. Sweeps repeat over the ones not there yet.
    await Promise.race([
      waitFor(
        'the workflow task backlog to drain',
        async () => {
          const n = await backlog();
          if (n > 0) throw new Error(`${n} workflow tasks in the backlog`);
        },
        1_800_000,
      ),
      workerExited,
    ]);
    const backlogDrained = elapsed();
    const atDrain = memoryOf(pid);
    let pending = ids;
    let sweeps = 0;
    let stillRunning = 0;
    let closed = 0;
    const sweepStarted = elapsed();
    while (pending.length > 0) {
      if (sweeps++ > 0) await new Promise((r) => setTimeout(r, 1_000));
      const notYet: string[] = [];
      let running = 0;
      let done = 0;
      const failed: string[] = [];
      const swept = await measure(pending.length, concurrency, async (i) => {
        const workflowId = pending[i]!;
        const d = await client.workflowService.describeWorkflowExecution({
          namespace: NAMESPACE,
          execution: { workflowId },
        });
        const status = d.workflowExecutionInfo?.status;
        const firstTaskDone = Number(d.workflowExecutionInfo?.historyLength ?? 0) >= 4 && !d.pendingWorkflowTask;
        if (status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
          if (firstTaskDone && !d.pendingActivities?.length) running++;
          else notYet.push(workflowId);
        } else if (
          status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED ||
          status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
        )
          done++;
        else failed.push(`${workflowId}: ${WorkflowExecutionStatus[status ?? 0]}`);
      });
      if (swept.errors > 0) throw new Error(`${swept.errors} workflow descriptions failed`);
      if (failed.length > 0) throw new Error(`${failed.length} workflows ended badly, e.g. ${failed[0]}`);
      stillRunning += running;
      closed += done;
      pending = notYet;
      if (elapsed() - sweepStarted > 1_800)
        throw new Error(`${pending.length} workflows still not past their first task after 30 minutes`);
    }
    const confirmed = elapsed();
    // The first sweep found every workflow there: the backlog drain is when the worker caught up;
    // else the last sweep's end is (an upper bound).
    const caughtUpAt = sweeps === 1 ? backlogDrained : confirmed;
    caughtUp = true;
    const peakSample = samples.reduce<Sample | null>((top, s) => (!top || s.rssMb > top.rssMb ? s : top), null);
    const loadedPeak = peakSample?.rssMb ?? 0;

    await Promise.race([new Promise((r) => setTimeout(r, 10_000)), workerExited]);
    const final = memoryOf(pid);
    clearInterval(sampler);
    clearInterval(progress);
    const visibleOpen = await client.workflow.count(`TaskQueue="${taskQueue}" AND ExecutionStatus="Running"`).then(
      (c) => c.count,
      () => NaN,
    );

    const peakMb = peakReset ? final.hwmMb : Math.max(loadedPeak, final.rssMb);
    const worst = Math.max(peakMb, final.rssMb);
    console.log(
      `\nworker memory: ${fmt(count)} edge workflows on task queue ${taskQueue}${prebuilt ? ', worker on a prebuilt workflow bundle' : ''}${process.env.WORKER_MAX_CACHED_WORKFLOWS ? `, WORKER_MAX_CACHED_WORKFLOWS=${process.env.WORKER_MAX_CACHED_WORKFLOWS}` : ''}${process.env.NODE_OPTIONS ? `, NODE_OPTIONS=${process.env.NODE_OPTIONS}` : ''} (waiting ${activationWindowDays} days for activation)${activatedCount ? `, ${fmt(activatedCount)} of them signalled \`activated\`` : ''}`,
    );
    console.log(
      `  workflows open           ${fmt(stillRunning)} waiting on the server (every one past its first workflow task${closed ? `; ${fmt(closed)} closed` : ''}; visibility counts ${fmt(visibleOpen)} running)`,
    );
    console.log(
      `  start rate               ${fmt(startup.perSecond)}/s   p50 ${fmt(startup.p50, 1)} ms   p99 ${fmt(startup.p99, 1)} ms   (concurrency ${concurrency}, ${fmt(startup.seconds, 1)} s, worker running)`,
    );
    console.log(
      `  worker caught up         ${fmt(caughtUpAt, 1)} s after the first start   (backlog drained at ${fmt(backlogDrained, 1)} s; ${sweeps} sweep${sweeps > 1 ? 's' : ''} of describe confirmed every workflow by ${fmt(confirmed, 1)} s)`,
    );
    console.log(
      `  worker RSS, idle         ${fmt(idle.rssMb)} MB   (bare limit of this run: the same worker polling, before any workflow; ready ${fmt(readySeconds, 1)} s after spawn, start-up peak ${fmt(idle.hwmMb)} MB: VmHWM before the first start${prebuilt ? '' : ', workflows bundled meanwhile in a child process'})`,
    );
    console.log(`  worker command           ${command}`);
    console.log(
      `  worker RSS, loaded peak  ${fmt(peakMb)} MB   (${peakReset ? 'VmHWM since the first start' : 'max of 1 s samples; VmHWM could not be reset'}; ${fmt(samples.length)} samples; largest sample ${fmt(loadedPeak)} MB: ${peakSample ? `${fmt(peakSample.anonMb)} anonymous + ${fmt(peakSample.fileMb)} file-backed at ${fmt(peakSample.at)} s` : 'none'})`,
    );
    console.log(
      `  worker RSS, drained      ${fmt(atDrain.rssMb)} MB   (when the backlog drained; ${fmt(atDrain.anonMb)} anonymous + ${fmt(atDrain.fileMb)} file-backed)`,
    );
    console.log(
      `  worker RSS, final        ${fmt(final.rssMb)} MB   (10 s after every workflow was confirmed; +${fmt(final.rssMb - idle.rssMb)} MB over idle; idle was ${fmt(idle.anonMb)} anonymous + ${fmt(idle.fileMb)} file-backed)`,
    );
    console.log(
      `  verdict                  ${worst < LIMIT_MB ? 'PASS' : 'FAIL'}: ${fmt(worst)} MB ${worst < LIMIT_MB ? '<' : '>='} ${LIMIT_MB} MB with ${fmt(stillRunning)} open edges${idle.hwmMb >= LIMIT_MB ? ` (start-up peak ${fmt(idle.hwmMb)} MB is over it)` : ''}`,
    );
  } finally {
    clearInterval(sampler);
    clearInterval(progress);
    await stop(worker);
    await connection.close();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  }
}
