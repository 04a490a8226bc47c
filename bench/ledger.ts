// Ledger write path: balanced two-entry transactions posted one per call (postTransaction),
// next to the bare single-row insert rate in the same run; then checks every balance still
// equals the sum of its entries.
//   npm run bench -- ledger [--count 20000] [--concurrency 16] [--accounts 1000]
import { sql } from 'slonik';
import { z } from 'zod';
import pg from 'pg';
import { createDatabasePool } from '../db/pool.ts';
import { createLedgerWriter, postTransaction } from '../db/ledger.ts';
import { creditsIssued, userCredits } from '../domain/ledger-postings.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt, measure } from './_measure.ts';

export async function run({ databaseUrl, args }: BenchStack): Promise<void> {
  const count = flag(args, 'count', 20_000);
  const concurrency = flag(args, 'concurrency', 16);
  const accounts = flag(args, 'accounts', 1_000);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency });
  await pool.query(
    'CREATE TABLE bench_bare (id bigserial PRIMARY KEY, key text NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
  );
  const bare = await measure(
    count,
    concurrency,
    async (i) => void (await pool.query('INSERT INTO bench_bare (key, amount) VALUES ($1, $2)', [`bare:${i}`, i])),
  );

  const db = await createDatabasePool(databaseUrl, concurrency);
  const ledger = await measure(count, concurrency, async (i) => {
    await postTransaction(db, {
      key: `bench:${i}`,
      kind: 'bench',
      entries: [
        { ...userCredits(`u${i % accounts}`), amount: 1 + (i % 97) },
        { ...creditsIssued, amount: -(1 + (i % 97)) },
      ],
    });
  });
  // The same through the batching writer (concurrent postings share a call).
  const writer = createLedgerWriter(db);
  const batched = await measure(count, concurrency * 4, async (i) => {
    await writer.post({
      key: `batched:${i}`,
      kind: 'bench',
      entries: [
        { ...userCredits(`u${i % accounts}`), amount: 1 + (i % 97) },
        { ...creditsIssued, amount: -(1 + (i % 97)) },
      ],
    });
  });
  // A replay of the first thousand keys writes nothing (idempotency by business key).
  await measure(
    Math.min(1_000, count),
    concurrency,
    async (i) => void (await postTransaction(db, { key: `bench:${i}`, kind: 'bench', entries: [] })),
  );

  const mismatched = await db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int AS n FROM ledger_accounts a
    WHERE a.balance IS NOT NULL AND a.balance <> coalesce((SELECT sum(amount) FROM ledger_entries e WHERE e.account_id = a.id), 0)`);
  const transactions = await db.oneFirst(
    sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM ledger_transactions`,
  );
  const total = await db.oneFirst(
    sql.type(z.object({ n: z.number() }))`SELECT coalesce(sum(balance), 0)::bigint AS n FROM ledger_balances`,
  );
  await db.end();
  await pool.end();

  console.log(
    `\nledger: ${fmt(count)} transactions of two entries over ${fmt(accounts)} user accounts and one hot platform account, concurrency ${concurrency}`,
  );
  console.log(
    `  one per call             ${fmt(ledger.perSecond)}/s   p50 ${fmt(ledger.p50, 1)} ms   p99 ${fmt(ledger.p99, 1)} ms   (errors: ${ledger.errors})`,
  );
  console.log(
    `  batching writer          ${fmt(batched.perSecond)}/s   p50 ${fmt(batched.p50, 1)} ms   p99 ${fmt(batched.p99, 1)} ms   (errors: ${batched.errors}; ${concurrency * 4} callers)   ${fmt((100 * batched.perSecond) / bare.perSecond)}% of bare inserts`,
  );
  console.log(
    `  bare PostgreSQL insert   ${fmt(bare.perSecond)}/s   p50 ${fmt(bare.p50, 1)} ms   p99 ${fmt(bare.p99, 1)} ms`,
  );
  console.log(`  one per call, ratio      ${fmt((100 * ledger.perSecond) / bare.perSecond)}% of bare inserts`);
  console.log(
    `  exact: ${transactions === 2 * count ? 'one transaction per key' : `${transactions} transactions for ${2 * count} keys`}; balances equal to their entries: ${mismatched === 0 ? 'all' : `${mismatched} accounts differ`}; sum of balances ${total}`,
  );
}
