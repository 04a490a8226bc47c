// The system wired through Toxiproxy for the fault tests: the API, the outbox relay and a worker
// talk to PostgreSQL and Temporal only through proxies the test can slow, cut or disable. A direct
// pool and a direct Temporal client stay beside them to check the outcome.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.ts';
import { DEFAULT_FRAUD_SETTINGS } from '../../domain/fraud/settings.ts';
import { createDatabasePool, type DatabasePool } from '../../db/pool.ts';
import { createLogger } from '../../platform/logger.ts';
import { workerOptions } from '../../workers/worker-options.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { startToxiproxy, type Proxy, type Toxiproxy } from '../../scripts/toxiproxy.ts';
import { startTestApi, testConfig, type TestApi } from './app.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { quietRuntime, temporalAddress, uniqueTaskQueue } from './temporal.ts';

export type FaultStack = {
  toxiproxy: Toxiproxy;
  postgres: Proxy;
  temporal: Proxy;
  /** Direct, unproxied: for assertions. */
  database: TestDatabase;
  direct: Client;
  /** Through the proxies: what the system under test uses. */
  db: DatabasePool;
  client: Client;
  taskQueue: string;
  api: TestApi;
  stop(): Promise<void>;
};

export async function startFaultStack(name: string): Promise<FaultStack> {
  // Activities fail and retry by design here: only errors are worth printing.
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
    });
  } catch {
    // a runtime is already installed in this process
  }
  quietRuntime();
  const toxiproxy = await startToxiproxy();
  const stops: (() => Promise<unknown>)[] = [() => toxiproxy.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const database = await createTestDatabase();
    stops.push(() => database.drop());
    const url = new URL(database.url);
    const postgres = await toxiproxy.createProxy('postgres', `${url.hostname}:${url.port}`);
    const temporal = await toxiproxy.createProxy('temporal', temporalAddress());
    url.port = postgres.listen.split(':')[1]!;
    const proxiedUrl = url.toString();
    const db = await createDatabasePool(proxiedUrl, 8);
    stops.push(() => db.end());
    const directConnection = await Connection.connect({ address: temporalAddress() });
    stops.push(() => directConnection.close());
    const connection = await Connection.connect({ address: temporal.listen });
    stops.push(() => connection.close());
    const client = new Client({ connection });
    const nativeConnection = await NativeConnection.connect({ address: temporal.listen });
    stops.push(() => nativeConnection.close());
    const taskQueue = uniqueTaskQueue(name);
    const worker = await Worker.create({
      ...workerOptions(),
      connection: nativeConnection,
      taskQueue,
      // Every customer here signs up from 127.0.0.1 within a minute and builds at once: a load generator,
      // not the scripted burst the fraud rules hold, so the address rules' thresholds are out of reach.
      activities: createActivities({
        db,
        temporal: client,
        taskQueue,
        fraud: { ...DEFAULT_FRAUD_SETTINGS, ipSignupsPerHour: 1_000_000, ipBurstPerHour: 1_000_000 },
      }),
    });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });
    const starter: WorkflowStarter = startWorkflowStarter({
      db,
      databaseUrl: proxiedUrl,
      client,
      taskQueue,
      log: createLogger('silent', 'starter'),
      pollIntervalMs: 200,
    });
    stops.push(() => starter.stop());
    const api = await startTestApi({
      config: testConfig(proxiedUrl, { TEMPORAL_TASK_QUEUE: taskQueue }),
      db,
      temporal: client,
    });
    stops.push(() => api.close());
    return {
      toxiproxy,
      postgres,
      temporal,
      database,
      direct: new Client({ connection: directConnection }),
      db,
      client,
      taskQueue,
      api,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
