// The relay process: starts the workflows the outbox holds and sends the mails the mail outbox
// holds. Its own process, so starting workflows does not share an event loop with running them.
import { Client, Connection } from '@temporalio/client';
import nodemailer from 'nodemailer';
import { loadConfig, ConfigError } from '../platform/env.ts';
import { createLogger } from '../platform/logger.ts';
import { createDatabasePool } from '../db/pool.ts';
import { startWorkflowStarter } from './workflow-starter.ts';
import { startMailSender } from './mail-sender.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'relays');
  const db = await createDatabasePool(config.databaseUrl, Math.min(config.pgPoolSize, 8));
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const starter = startWorkflowStarter({
    db,
    databaseUrl: config.databaseUrl,
    client,
    taskQueue: config.temporal.taskQueue,
    concurrency: config.starterConcurrency,
    log,
  });
  const mailSender = config.smtpUrl
    ? startMailSender({
        db,
        transport: nodemailer.createTransport(config.smtpUrl),
        from: config.mailFrom,
        messageIdDomain: new URL(config.publicBaseUrl).hostname,
        log,
        maxAttempts: config.mailMaxAttempts,
      })
    : undefined;
  if (!mailSender) log.warn('SMTP_URL is not set: invite mails stay queued in mail_outbox until it is');
  log.info('relays running');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await starter.stop();
  await mailSender?.stop();
  await connection.close();
  await db.end();
  log.info('relays stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `relays: ${err.message}` : err);
  process.exit(1);
});
