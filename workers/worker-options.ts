// Worker options shared by the worker process, the tests and the benchmarks.
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from '@temporalio/worker';
import { ConfigError } from '../platform/env.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Workflows come from a prebuilt bundle when WORKFLOW_BUNDLE names one (tests build it once),
 * else they are bundled from source at start.
 */
export function workerOptions(): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle' | 'maxCachedWorkflows'> {
  const bundle = process.env.WORKFLOW_BUNDLE;
  return {
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: WORKFLOWS_PATH }),
    // Open edges wait on the server, not in this cache: memory stays bounded however many are open.
    // Each cached workflow holds a V8 context (about 0.5 MB); edges get a task rarely, so a small
    // cache costs little replay. WORKER_MAX_CACHED_WORKFLOWS overrides it.
    maxCachedWorkflows: cacheSize(process.env.WORKER_MAX_CACHED_WORKFLOWS),
  };
}

function cacheSize(raw: string | undefined): number {
  if (raw === undefined) return 200;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`invalid configuration: WORKER_MAX_CACHED_WORKFLOWS: must be a positive whole number, got "${raw}"`);
  return n;
}
