// Real Temporal for tests: a worker on the dev server `npm test` started, and the Java
// time-skipping test server for month-long timers.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { DatabasePool } from '../../db/pool.ts';
import { createActivities, type ActivityDependencies } from '../../activities/index.ts';
import { workerOptions } from '../../workers/worker-options.ts';
import { startTimeSkippingServer } from '../../scripts/local-temporal.ts';
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from './database.ts';

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
    });
  } catch {
    // already installed in this process by another test file
  }
}

export const HISTORIES_DIR = fileURLToPath(new URL('../workflow/histories', import.meta.url));

export function temporalAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'TEMPORAL_ADDRESS is not set: run the suite through `npm test`, which starts a Temporal dev server',
    );
  return address;
}

export const uniqueTaskQueue = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

export type RunningWorker = { worker: Worker; client: Client; taskQueue: string; stop(): Promise<void> };

/** A worker with the real activities on the dev server, on a task queue of its own. */
export async function startDevWorker(
  db: DatabasePool,
  name = 'test',
  extra: Omit<ActivityDependencies, 'db'> = {},
): Promise<RunningWorker> {
  quietRuntime();
  const taskQueue = uniqueTaskQueue(name);
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress() });
  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection });
  const worker = await Worker.create({
    ...workerOptions(),
    connection: nativeConnection,
    taskQueue,
    activities: createActivities({ db, temporal: client, taskQueue, ...extra }),
  });
  const running = worker.run();
  return {
    worker,
    client,
    taskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** The time-skipping test server: timers of months pass in seconds. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return startTimeSkippingServer(process.env.TEMPORAL_TEST_SERVER || undefined);
}

/**
 * A suite on the time-skipping test server: one test database for the file and a fresh test server
 * per test (once a workflow completes and nothing is left to wait for, the test server skips its
 * clock years ahead, which would expire the next test's edge at once). `eachTest` runs before each
 * test once its server is up. The fields are set by the hooks: read them inside tests.
 */
export function timeSkippingSuite(eachTest?: (database: TestDatabase) => Promise<unknown>): {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
} {
  const suite = {} as { env: TestWorkflowEnvironment; database: TestDatabase };
  beforeAll(async () => {
    suite.database = await createTestDatabase();
  });
  afterAll(async () => {
    await suite.database?.drop();
  });
  beforeEach(async () => {
    suite.env = await createTimeSkippingEnv();
    await eachTest?.(suite.database);
  });
  afterEach(async () => {
    await suite.env?.teardown();
  });
  return suite;
}

export async function timeSkippingWorker(
  env: TestWorkflowEnvironment,
  db: DatabasePool,
  taskQueue = uniqueTaskQueue('ts'),
): Promise<Worker> {
  return Worker.create({
    ...workerOptions(),
    connection: env.nativeConnection,
    taskQueue,
    activities: createActivities({ db }),
  });
}

/** Polls until `fn` returns a value other than undefined (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `condition not met within ${timeoutMs} ms${last ? `: ${String((last as Error).message ?? last)}` : ''}`,
  );
}
