// The API process; with API_PROCESSES > 1, a primary that forks that many API processes sharing
// the port (node:cluster), so the API uses more than one core. Rate limits are shared by all of
// them (counters in PostgreSQL).
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { loadConfig, ConfigError } from '../platform/env.ts';
import { createLogger } from '../platform/logger.ts';
import { createTemporalClient } from '../platform/temporal.ts';
import { createDatabasePool } from '../db/pool.ts';
import { createApp } from './app.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'api');
  const db = await createDatabasePool(config.databaseUrl, config.pgPoolSize);
  const temporal = createTemporalClient(config);
  const app = createApp({ config, db, temporal, log });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Idle keep-alive connections stay open longer than a load balancer's usual 60 s, so the balancer
  // closes them first and never sends a request on a socket we are closing (Node's default is 5 s:
  // the soak lost requests that way). Headers must be allowed a little longer than that.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  log.info({ port: config.port }, `API listening on http://localhost:${config.port}`);
  const shutdown = () => {
    server.close(async () => {
      await db.end();
      await temporal.connection.close();
      log.info('API stopped');
      process.exit(0);
    });
    server.closeAllConnections();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

function primary(processes: number): void {
  for (let i = 0; i < processes; i++) cluster.fork();
  let stopping = false;
  cluster.on('exit', (_worker, code) => {
    if (!stopping && code !== 0) {
      console.error(`api: an API process exited (${code}); stopping`);
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exitCode = 1;
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill(signal);
    });
  }
}

const processes = Number(process.env.API_PROCESSES ?? 1);
if (cluster.isPrimary && processes > 1) primary(processes);
else
  main().catch((err) => {
    const message =
      err instanceof ConfigError
        ? err.message
        : err?.code === 'EADDRINUSE'
          ? `port ${process.env.PORT ?? 3000} is already in use; stop what holds it or set PORT`
          : undefined;
    console.error(message ? `api: ${message}` : err);
    process.exit(1);
  });
