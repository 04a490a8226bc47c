// `npm run bench -- <name> [options]`: runs bench/<name>.ts on its own embedded PostgreSQL and
// Temporal dev server (the provisioned CLI), then stops them.
import { mkdtempSync, chmodSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../db/migrate.ts';
import { startLocalPostgres } from '../scripts/local-postgres.ts';
import { startLocalTemporal } from '../scripts/local-temporal.ts';
import { freePort } from '../scripts/ports.ts';
import { ensureTemporalCli } from '../scripts/provision.ts';

export type BenchStack = { databaseUrl: string; temporalAddress: string; args: string[] };

const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'referral-graph-bench-'));
chmodSync(work, 0o755);
const postgres = await startLocalPostgres({
  dataDir: join(work, 'postgres'),
  port: await freePort(),
  persistent: false,
});
const temporal = await startLocalTemporal({
  cli: ensureTemporalCli(),
  port: await freePort(),
  uiPort: null,
  dbFile: null,
}).catch(async (err) => {
  await postgres.stop();
  throw err;
});
const cleanUp = async () => {
  await temporal.stop();
  await postgres.stop();
  rmSync(work, { recursive: true, force: true });
};
// Interrupted (Ctrl-C, a timeout): stop the servers rather than leave them running.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
try {
  await postgres.createDatabase('bench');
  const databaseUrl = postgres.urlFor('bench');
  await migrate(databaseUrl);
  const bench = (await import(`./${name}.ts`)) as { run(stack: BenchStack): Promise<void> };
  await bench.run({ databaseUrl, temporalAddress: temporal.address, args });
} finally {
  await cleanUp();
}
