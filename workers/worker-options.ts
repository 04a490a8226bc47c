// Worker options shared by the worker process, the tests and the benchmarks.
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type { WorkerOptions } from '@temporalio/worker';
import { ConfigError } from '../platform/env.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Workflows come from a prebuilt bundle when WORKFLOW_BUNDLE names one (tests build it once),
 * else from source (workflowsPath; the worker process bundles it in a child process at start,
 * workers/workflow-bundle.ts).
 */
export function workerOptions(): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle' | 'maxCachedWorkflows'> {
  const bundle = process.env.WORKFLOW_BUNDLE;
  return {
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: WORKFLOWS_PATH }),
    // Open edges wait on the server, not in this cache: memory stays bounded however many are open.
    // Cached workflows share one V8 context (reuseV8Context) and cost about 75 kB of live heap each
    // in the workflow thread (plus about 30 kB in the main thread); edges get a task rarely, so a
    // small cache costs little replay. WORKER_MAX_CACHED_WORKFLOWS overrides it.
    maxCachedWorkflows: cacheSize(process.env.WORKER_MAX_CACHED_WORKFLOWS),
  };
}

function cacheSize(raw: string | undefined): number {
  if (raw === undefined) return 200;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(
      `invalid configuration: WORKER_MAX_CACHED_WORKFLOWS: must be a positive whole number, got "${raw}"`,
    );
  return n;
}

/**
 * V8's young generation per isolate, in MB per semi-space. The worker has two isolates (the main
 * thread, which decodes activations, and the workflow thread, which runs every cached workflow in
 * one reused V8 context); both allocate fast and mostly garbage, so on a large machine V8 grows
 * each young generation to 2 x 64 MB and lets the old generation fill with garbage before it
 * collects: 750 MB RSS at 20,000 workflow starts, 1.4 GB at 100,000. At 4 MB the two heaps stay
 * near 50 and 110 MB.
 */
export const WORKER_SEMI_SPACE_MB = 4;
/**
 * glibc malloc arenas for the worker's native side (Temporal's Rust core, its threads): by default
 * up to 8 per core, each kept mostly resident once touched; 2 arenas hold about 50 MB less under load.
 */
export const WORKER_MALLOC_ARENA_MAX = '2';

const SEMI_SPACE_FLAG = '--max-semi-space-size';

/**
 * Gives the worker process its memory settings (WORKER_SEMI_SPACE_MB, WORKER_MALLOC_ARENA_MAX),
 * whichever way it was started (npm run worker, npm run dev, docker compose): V8 sizes the main
 * heap and glibc reads MALLOC_ARENA_MAX when the process starts, so the process replaces itself
 * once (process.execve: same pid, arguments and environment) with one started with them. A
 * `--max-semi-space-size` already given (NODE_OPTIONS or node's own arguments) or a
 * MALLOC_ARENA_MAX in the environment wins. Where the process cannot replace itself (no
 * process.execve), the V8 flag still reaches the workflow thread, created later. Call it first
 * thing in the worker's main, before any I/O.
 */
export function relaunchWithWorkerMemorySettings(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const semiSpaceGiven = given.some((arg) => arg === SEMI_SPACE_FLAG || arg.startsWith(`${SEMI_SPACE_FLAG}=`));
  if (semiSpaceGiven && process.env.MALLOC_ARENA_MAX !== undefined) return;
  const flags = semiSpaceGiven ? [] : [`${SEMI_SPACE_FLAG}=${WORKER_SEMI_SPACE_MB}`];
  if (typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], {
      ...process.env,
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? WORKER_MALLOC_ARENA_MAX,
    });
  }
  for (const flag of flags) v8.setFlagsFromString(flag);
}
