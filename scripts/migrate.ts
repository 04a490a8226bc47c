// `npm run migrate`: applies pending migrations to DATABASE_URL.
import { migrate } from '../db/migrate.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('migrate: DATABASE_URL is not set');
  process.exit(1);
}
try {
  const applied = await migrate(url);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
} catch (err) {
  console.error(`migrate: ${(err as Error).message}`);
  process.exit(1);
}
