// `npm run dev`: the whole system on one machine. Embedded PostgreSQL and a Temporal dev server
// (unless DATABASE_URL / TEMPORAL_ADDRESS point elsewhere), migrations, the worker and the API.
// State is kept under .data/ between runs; Ctrl-C stops everything, and so does any failure (a
// server that does not start, a process that dies): nothing this run started is left running
// (scripts/shutdown.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '../db/migrate.ts';
import { loadConfig } from '../platform/env.ts';
import { startLocalPostgres, type LocalPostgres } from './local-postgres.ts';
import { startLocalSmtp, writeMailsTo } from './local-smtp.ts';
import { startLocalTemporal, type LocalTemporal } from './local-temporal.ts';
import { assertPortFree, waitFor } from './ports.ts';
import { ensureStripeMock, ensureTemporalCli } from './provision.ts';
import { startStripeMock } from './local-stripe-mock.ts';
import { installShutdownHandlers, onShutdown, shutdown, trackChild } from './shutdown.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, '.data');
const say = (line: string) => process.stdout.write(`[dev] ${line}\n`);

let stopping = false;

/** Stops the app's processes, then the servers (each registered its stop when it was spawned), and exits. */
async function stopAll(code: number): Promise<never> {
  stopping = true;
  await shutdown((line) => process.stderr.write(`[dev] ${line}\n`));
  process.exit(code);
}

function devSecrets(): { API_KEYS: string; SESSION_SECRET: string } {
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const key = () => randomBytes(16).toString('hex');
  const secrets = {
    API_KEYS: `admin:dev_admin_${key()},finance:dev_finance_${key()},server:dev_server_${key()}`,
    SESSION_SECRET: randomBytes(32).toString('hex'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

function run(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = trackChild(
    spawn(process.execPath, [join(root, script)], { env, stdio: ['ignore', 'inherit', 'inherit'] }),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(
      `[dev] the ${name} stopped (${signal ?? `exit ${code}`}); stopping everything. Its last lines above say why.\n`,
    );
    void stopAll(1);
  });
  onShutdown(`the ${name}`, async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  return child;
}

async function main(): Promise<void> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24)
    throw new Error(
      `Node ${process.versions.node} is running this, but the project needs Node 24: run it through \`npm run dev\`, which uses the Node 24 from node_modules/.bin.`,
    );
  mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  const generated = devSecrets();
  const usingGenerated = { API_KEYS: !env.API_KEYS, SESSION_SECRET: !env.SESSION_SECRET };
  env.API_KEYS ??= generated.API_KEYS;
  env.SESSION_SECRET ??= generated.SESSION_SECRET;
  env.PORT ??= '3000';
  // Fail on a bad variable before anything starts (addresses filled in below are placeholders here).
  loadConfig({
    ...env,
    DATABASE_URL: env.DATABASE_URL ?? 'postgres://placeholder',
    TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS ?? 'localhost:7233',
  });
  const port = Number(env.PORT);
  await assertPortFree(port, 'API', 'PORT');

  let postgres: LocalPostgres | undefined;
  if (!env.DATABASE_URL) {
    const pgPort = Number(env.DEV_PG_PORT ?? 55432);
    await assertPortFree(pgPort, 'embedded PostgreSQL', 'DEV_PG_PORT');
    say(`starting embedded PostgreSQL on 127.0.0.1:${pgPort} (data in .data/postgres)`);
    postgres = await startLocalPostgres({
      dataDir: join(dataDir, 'postgres'),
      port: pgPort,
      persistent: true,
      onNotice: say,
    });
    await postgres.createDatabase('referral_graph');
    env.DATABASE_URL = postgres.urlFor('referral_graph');
  }

  let temporal: LocalTemporal | undefined;
  if (!env.TEMPORAL_ADDRESS) {
    const temporalPort = Number(env.TEMPORAL_PORT ?? 7233);
    const uiPort = Number(env.TEMPORAL_UI_PORT ?? 8233);
    await assertPortFree(temporalPort, 'Temporal frontend', 'TEMPORAL_PORT');
    await assertPortFree(uiPort, 'Temporal UI', 'TEMPORAL_UI_PORT');
    const cli = ensureTemporalCli();
    say(
      `starting the Temporal dev server on 127.0.0.1:${temporalPort} (state in .data/temporal.db)${cli ? '' : ' with the SDK-downloaded CLI (no Go here)'}`,
    );
    temporal = await startLocalTemporal({ cli, port: temporalPort, uiPort, dbFile: join(dataDir, 'temporal.db') });
    env.TEMPORAL_ADDRESS = temporal.address;
  }

  if (!env.SMTP_URL) {
    const smtpPort = Number(env.DEV_SMTP_PORT ?? 2525);
    await assertPortFree(smtpPort, 'local SMTP sink', 'DEV_SMTP_PORT');
    const smtp = await startLocalSmtp({ port: smtpPort, onMail: writeMailsTo(join(dataDir, 'mail')) });
    onShutdown('the local SMTP sink', () => smtp.stop());
    env.SMTP_URL = smtp.url;
  }

  // Stripe in dev: stripe-mock (Stripe's own mock) unless a key is given, so payout cycles run.
  if (!env.STRIPE_SECRET_KEY) {
    const stripeMock = await startStripeMock({ bin: ensureStripeMock() });
    env.STRIPE_SECRET_KEY = 'sk_test_dev';
    env.STRIPE_API_BASE = stripeMock.url;
  }

  const config = loadConfig(env);
  const applied = await migrate(config.databaseUrl);
  say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'database schema up to date');

  run('worker', 'workers/main.ts', env);
  run('relays', 'workers/relays.ts', env);
  run('API', 'api/server.ts', env);
  const base = `http://localhost:${port}`;
  await waitFor(
    `the API at ${base}/readyz`,
    async () => {
      const res = await fetch(`${base}/readyz`);
      if (res.status !== 200) throw new Error(`readyz answered ${res.status}`);
    },
    120_000,
  );

  const lines = [
    '',
    `API            ${base}    (reference: ${base}/docs, document: ${base}/openapi.json)`,
    `Temporal UI    ${temporal?.uiUrl ?? '(external Temporal at ' + config.temporal.address + ')'}`,
    `Temporal       ${config.temporal.address}  namespace ${config.temporal.namespace}`,
    `PostgreSQL     ${postgres ? config.databaseUrl : '(external DATABASE_URL)'}`,
    `Stripe         ${config.stripe.apiBase ?? 'api.stripe.com'}${process.env.STRIPE_SECRET_KEY ? '' : '  (stripe-mock: payouts are answered with fixtures, no money moves)'}`,
    `Mail           ${config.smtpUrl}${process.env.SMTP_URL ? '' : '  (local sink: mails land in .data/mail/*.eml)'}`,
  ];
  if (usingGenerated.API_KEYS)
    lines.push(`API_KEYS       ${env.API_KEYS}   (generated for dev, kept in .data/dev-secrets.json)`);
  if (usingGenerated.SESSION_SECRET) lines.push(`SESSION_SECRET ${env.SESSION_SECRET}   (generated for dev)`);
  lines.push('', 'Ready. Ctrl-C stops everything.', '');
  process.stdout.write(lines.join('\n') + '\n');
}

installShutdownHandlers((line) => {
  stopping = true;
  say(line);
}, 0);
main().catch(async (err) => {
  process.stderr.write(`[dev] ${(err as Error).message ?? err}\n`);
  await stopAll(1);
});
