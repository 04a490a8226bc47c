// The system's processes for the benchmarks: started as in production, stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

// BENCH_PROFILE=<dir> writes a CPU profile of each process there (open it in Chrome DevTools).
export function start(script: string, env: NodeJS.ProcessEnv, { ipc = false }: { ipc?: boolean } = {}): ChildProcess {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  return spawn(process.execPath, [...profile, join(root, script)], {
    env,
    stdio: ['ignore', 'ignore', 'inherit', ...(ipc ? ['ipc' as const] : [])],
  });
}

export const BENCH_SESSION_SECRET = 'bench-session-secret-0123456789-abcdefghij';

/**
 * The environment the system's processes run with in a benchmark: this run's PostgreSQL and
 * Temporal, quiet logs, and `extra` (keys, port, settings) on top.
 */
export function systemEnv(
  databaseUrl: string,
  temporalAddress: string,
  extra: Record<string, string>,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    SESSION_SECRET: BENCH_SESSION_SECRET,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
