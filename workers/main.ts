// The worker process: runs every workflow and activity on the task queue. (The outbox relays run
// in their own process: workers/relays.ts.)
import { DefaultLogger, NativeConnection, Worker, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadConfig, ConfigError } from '../platform/env.ts';
import { createLogger } from '../platform/logger.ts';
import { createDatabasePool } from '../db/pool.ts';
import { createActivities } from '../activities/index.ts';
import { Client, Connection } from '@temporalio/client';
import { relaunchWithWorkerMemorySettings, workerOptions } from './worker-options.ts';
import { buildWorkflowBundle } from './workflow-bundle.ts';
import { createStripe } from '../platform/stripe.ts';
import { ensurePayoutSchedules } from './payout-schedules.ts';
import { ensureWaveRelease } from './wave-schedule.ts';
import { ensureFraudRingSchedule } from './fraud-ring-schedule.ts';
import { ensureWhopReconciliationSchedule } from './whop-schedule.ts';
import { createWhop } from '../platform/whop.ts';

async function main(): Promise<void> {
  relaunchWithWorkerMemorySettings(); // V8 and malloc settings that bound the worker's memory (replaces the process once)
  const config = loadConfig();
  const { workflowsPath, ...options } = workerOptions(); // its settings are checked before anything starts
  // Workflows bundled from source in a child process, so webpack never loads into the worker.
  const bundle = workflowsPath ? await buildWorkflowBundle() : null;
  const log = createLogger(config.logLevel, 'worker');
  // The SDK's own logs at warn and above; the worker stops itself on SIGINT/SIGTERM (its shutdownSignals).
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const db = await createDatabasePool(config.databaseUrl, config.pgPoolSize);
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  // One client connection for what the worker asks of Temporal itself: the activities that signal
  // workflows (the launch flip) and the schedules and workflows it ensures at start.
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const worker = await Worker.create({
    ...options,
    ...(bundle ? { workflowBundle: { codePath: bundle.codePath } } : {}),
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities({
      db,
      commission: config.commission,
      stripe: createStripe(config.stripe),
      stripeRateLimitPerSecond: config.stripe.rateLimitPerSecond,
      payoutConcurrency: config.stripe.concurrency,
      wavePlan: config.waves,
      temporal: client,
      taskQueue: config.temporal.taskQueue,
      fraud: config.fraud,
      flavors: config.flavors,
      links: config.linkGrants,
      whop: createWhop(config.whop),
    }),
  }).finally(() => bundle?.remove());

  const created = await ensurePayoutSchedules(client, config.temporal.taskQueue);
  if (created.length) log.info({ schedules: created }, 'schedules created');
  const rings = await ensureFraudRingSchedule(client, {
    taskQueue: config.temporal.taskQueue,
    everyMinutes: config.fraudRings.scanEveryMinutes,
  });
  if (rings.outcome !== 'unchanged') log.info(rings, 'fraud ring scan schedule');
  if (config.whop.apiKey) {
    const whop = await ensureWhopReconciliationSchedule(client, {
      taskQueue: config.temporal.taskQueue,
      everyMinutes: config.whop.reconcileEveryMinutes,
    });
    if (whop.outcome !== 'unchanged') log.info(whop, 'Whop reconciliation schedule');
  }
  const waves = await ensureWaveRelease(client, {
    taskQueue: config.temporal.taskQueue,
    planEveryMinutes: config.waves.releaseEveryMinutes,
  });
  if (waves.scheduleDeleted) log.info('the waves-release Schedule is retired: deleted');
  // Its id is never reused: an ended wave release stays ended until ops see why, and no wave opens meanwhile.
  if (!waves.running)
    log.error(
      { workflowId: waves.workflowId },
      'the wave release workflow has ended: waves are not released; see its history in the Temporal UI',
    );
  log.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address }, 'worker running');
  await worker.run();
  await clientConnection.close();
  await nativeConnection.close();
  await db.end();
  log.info('worker stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `worker: ${err.message}` : err);
  process.exit(1);
});
