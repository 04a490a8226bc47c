// The whole system in one test file's process: its own database, a worker on its own task queue,
// the outbox relay's workflow starter and the API, stopped in reverse order.
import { createLogger } from '../../platform/logger.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { startTestApi, testConfig, type TestApi } from './app.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startDevWorker, type RunningWorker } from './temporal.ts';

export type TestStack = {
  database: TestDatabase;
  worker: RunningWorker;
  starter: WorkflowStarter;
  api: TestApi;
  stop(): Promise<void>;
};

export async function startStack(
  name: string,
  { pollIntervalMs = 200, env = {} }: { pollIntervalMs?: number; env?: Record<string, string> } = {},
): Promise<TestStack> {
  const database = await createTestDatabase();
  const worker = await startDevWorker(database.db, name);
  const config = testConfig(database.url, { ...env, TEMPORAL_TASK_QUEUE: worker.taskQueue });
  const starter = startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: worker.client,
    taskQueue: worker.taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs,
  });
  const api = await startTestApi({ config, db: database.db, temporal: worker.client });
  return {
    database,
    worker,
    starter,
    api,
    async stop() {
      await api.close();
      await starter.stop();
      await worker.stop();
      await database.drop();
    },
  };
}
