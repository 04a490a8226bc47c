// The worker process: runs every workflow and activity on the task queue, and the relay that
// starts workflows from the outbox.
import { DefaultLogger, NativeConnection, Worker, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, ConfigError } from '../platform/env.ts';
import { createLogger } from '../platform/logger.ts';
import { createDatabasePool } from '../db/pool.ts';
import { createActivities } from '../activities/index.ts';
import nodemailer from 'nodemailer';
import { startWorkflowStarter } from './workflow-starter.ts';
import { startMailSender } from './mail-sender.ts';
import { workerOptions } from './worker-options.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'worker');
  // The SDK's own logs at warn and above; the worker stops itself on SIGINT/SIGTERM (its shutdownSignals).
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } } });
  const db = await createDatabasePool(config.databaseUrl, config.pgPoolSize);
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    ...workerOptions(),
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities({ db }),
  });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const starter = startWorkflowStarter({ db, databaseUrl: config.databaseUrl, client, taskQueue: config.temporal.taskQueue, log });
  const mailSender = config.smtpUrl
    ? startMailSender({ db, transport: nodemailer.createTransport(config.smtpUrl), from: config.mailFrom, messageIdDomain: new URL(config.publicBaseUrl).hostname, log })
    : undefined;
  if (!mailSender) log.warn('SMTP_URL is not set: invite mails stay queued in mail_outbox until it is');

  log.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address }, 'worker running');
  await worker.run();
  await starter.stop();
  await mailSender?.stop();
  await clientConnection.close();
  await nativeConnection.close();
  await db.end();
  log.info('worker stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `worker: ${err.message}` : err);
  process.exit(1);
});
