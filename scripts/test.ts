// `npm test`: type-check, format check, then jest over every suite against real servers this run starts and
// stops itself: an embedded PostgreSQL (a migrated template database each test file copies), a
// Temporal dev server (in memory), the Java time-skipping test server for month-long timers, and
// stripe-mock for the shape of our Stripe requests.
// Extra arguments go to jest (`npm test -- test/unit`). However the run ends (done, failed, Ctrl-C,
// `kill`, a crash), what it started is stopped (scripts/shutdown.ts).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { migrate } from '../db/migrate.ts';
import { WORKFLOWS_PATH } from '../workers/worker-options.ts';
import { startLocalPostgres, type LocalPostgres } from './local-postgres.ts';
import { startLocalTemporal, type LocalTemporal } from './local-temporal.ts';
import { freePort } from './ports.ts';
import { ensureStripeMock, ensureTemporalCli, ensureTestServer } from './provision.ts';
import { startStripeMock, type LocalStripeMock } from './local-stripe-mock.ts';
import { installShutdownHandlers, onShutdown, shutdown, trackChild } from './shutdown.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line: string) => process.stderr.write(`[test] ${line}\n`);
export const TEMPLATE_DATABASE = 'referral_graph_template';

async function main(): Promise<number> {
  const started = Date.now();
  say('type-checking (tsc --noEmit)');
  const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) {
    say('type-check failed; fix the errors above');
    return 1;
  }
  say('checking the format (prettier --check, 120 columns)');
  const format = spawnSync(join(root, 'node_modules/.bin/prettier'), ['--check', '--log-level', 'warn', root], {
    stdio: 'inherit',
  });
  if (format.status !== 0) {
    say('files above are not formatted: `npm run format` formats them');
    return 1;
  }

  const cli = ensureTemporalCli();
  const testServer = ensureTestServer();
  const stripeMockBin = ensureStripeMock();
  const work = mkdtempSync(join(tmpdir(), 'referral-graph-test-'));
  chmodSync(work, 0o755); // embedded PostgreSQL runs as the postgres user when we are root
  onShutdown('the work folder', async () => rmSync(work, { recursive: true, force: true })); // runs last
  let postgres: LocalPostgres | undefined;
  let temporal: LocalTemporal | undefined;
  let stripeMock: LocalStripeMock | undefined;
  try {
    const [pgPort, temporalPort] = [await freePort(), await freePort()];
    // All start at once; whichever came up (or is still starting) is stopped in `finally` even if another failed.
    const [pgResult, temporalResult, stripeResult] = await Promise.allSettled([
      startLocalPostgres({ dataDir: join(work, 'postgres'), port: pgPort, persistent: false, onNotice: say }),
      startLocalTemporal({ cli, port: temporalPort, uiPort: null, dbFile: null }),
      startStripeMock({ bin: stripeMockBin }),
    ]);
    if (pgResult.status === 'fulfilled') postgres = pgResult.value;
    if (temporalResult.status === 'fulfilled') temporal = temporalResult.value;
    if (stripeResult.status === 'fulfilled') stripeMock = stripeResult.value;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (temporalResult.status === 'rejected') throw temporalResult.reason;
    if (stripeResult.status === 'rejected') throw stripeResult.reason;
    if (!postgres || !temporal || !stripeMock) throw new Error('unreachable');
    await postgres.createDatabase(TEMPLATE_DATABASE);
    await migrate(postgres.urlFor(TEMPLATE_DATABASE));
    // Workflows are bundled once for the whole run instead of once per test worker.
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
    const bundlePath = join(work, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);
    say(
      `servers ready in ${((Date.now() - started) / 1000).toFixed(1)} s: PostgreSQL :${pgPort}, Temporal ${temporal.address}`,
    );

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEST_PG_ADMIN_URL: postgres.adminUrl,
      TEST_PG_TEMPLATE: TEMPLATE_DATABASE,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TEST_SERVER: testServer ?? '',
      WORKFLOW_BUNDLE: bundlePath,
      TEST_STRIPE_MOCK_URL: stripeMock.url,
      NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules', '--no-warnings=ExperimentalWarning']
        .filter(Boolean)
        .join(' '),
    };
    const jest = trackChild(
      spawn(process.execPath, [join(root, 'node_modules/jest/bin/jest.js'), ...process.argv.slice(2)], {
        env,
        stdio: 'inherit',
        cwd: root,
      }),
    );
    const finished = new Promise<number>((resolve) => jest.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
    // Interrupted: jest ends first (its workers and their servers), then the servers it used.
    const unregister = onShutdown('jest', async () => {
      if (jest.exitCode === null && jest.signalCode === null) jest.kill('SIGTERM');
      await finished;
    });
    const code = await finished;
    unregister();
    say(`finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return code;
  } finally {
    await shutdown(say);
  }
}

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

installShutdownHandlers(say);
main().then(
  (code) => process.exit(code),
  (err) => {
    say(`could not run the tests: ${(err as Error).message ?? err}`);
    process.exit(1);
  },
);
