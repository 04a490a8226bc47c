// The worker as its own process (workers/main.ts), as in production, so a test can kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { temporalAddress } from './temporal.ts';

export function spawnWorker(p: { databaseUrl: string; taskQueue: string; env?: Record<string, string> }): ChildProcess {
  return spawn(process.execPath, [fileURLToPath(new URL('../../workers/main.ts', import.meta.url))], {
    env: {
      ...process.env,
      DATABASE_URL: p.databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_TASK_QUEUE: p.taskQueue,
      API_KEYS: 'admin:worker_test_admin_key_0123',
      SESSION_SECRET: 'worker-test-session-secret-0123456789abcdef',
      LOG_LEVEL: 'warn',
      ...p.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** SIGKILL: no shutdown, no last words. */
export async function killWorker(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}
