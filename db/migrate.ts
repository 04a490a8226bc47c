// Versioned, forward-only SQL migrations (db/migrations/NNNN_name.sql) applied by node-pg-migrate.
// A migration has no down section: a correction is a new migration.
import { runner } from 'node-pg-migrate';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Applies every pending migration (or the first `count` of them: tests of data written by older versions). */
export async function migrate(
  databaseUrl: string,
  log: (line: string) => void = () => {},
  count?: number,
): Promise<string[]> {
  const applied = await runner({
    ...(count === undefined ? {} : { count }),
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'schema_migrations',
    checkOrder: true,
    singleTransaction: true,
    log,
    logger: { debug: () => {}, info: log, warn: log, error: log },
  });
  return applied.map((m) => m.name);
}
