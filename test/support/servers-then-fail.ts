// A run that starts servers the way scripts/test.ts and scripts/dev.ts do, then fails, for
// test/integration/local-servers.test.ts to check that nothing it started is left running.
//   node servers-then-fail.ts <work dir> <pg port> <stripe-mock http port> <https port> <how>
// how: `crash` (an uncaught error once both are up), `signal` (waits for SIGTERM), `failed-start`
// (a third server fails to start while PostgreSQL is still starting: the run gives up).
import { join } from 'node:path';
import { startLocalPostgres } from '../../scripts/local-postgres.ts';
import { startStripeMock } from '../../scripts/local-stripe-mock.ts';
import { ensureStripeMock } from '../../scripts/provision.ts';
import { installShutdownHandlers, shutdown } from '../../scripts/shutdown.ts';

const [work, pgPort, httpPort, httpsPort, how] = process.argv.slice(2);
const say = (line: string) => process.stderr.write(`[fixture] ${line}\n`);
installShutdownHandlers(say);

async function main(): Promise<void> {
  const starts = [
    startLocalPostgres({ dataDir: join(work!, 'postgres'), port: Number(pgPort), persistent: false }),
    startStripeMock({ bin: ensureStripeMock(), port: Number(httpPort), httpsPort: Number(httpsPort) }),
  ];
  // `failed-start`: a server that exits as soon as it is spawned, while PostgreSQL is still on its way up.
  await Promise.all(how === 'failed-start' ? [...starts, startStripeMock({ bin: '/bin/false' })] : starts);
  process.stdout.write('up\n');
  if (how === 'crash') setTimeout(() => Promise.reject(new Error('something broke mid-run')), 10);
  else await new Promise(() => {}); // until a signal
}

main().catch(async (err) => {
  say(`could not run: ${(err as Error).message}`);
  await shutdown(say);
  process.exit(1);
});
