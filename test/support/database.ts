// Each test file gets its own database, copied from the migrated template `npm test` prepared.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabasePool, type DatabasePool } from '../../db/pool.ts';

export type TestDatabase = { url: string; db: DatabasePool; drop(): Promise<void> };

function adminUrl(): string {
  const url = process.env.TEST_PG_ADMIN_URL;
  if (!url) throw new Error('TEST_PG_ADMIN_URL is not set: run the suite through `npm test`, which starts PostgreSQL');
  return url;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own, copied from the migrated template (or, with `template` null, empty). */
export async function createTestDatabase(
  poolSize = 8,
  template: string | null = process.env.TEST_PG_TEMPLATE ?? 'referral_graph_template',
): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const db = await createDatabasePool(url.toString(), poolSize);
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
