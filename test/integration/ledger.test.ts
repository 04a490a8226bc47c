// The ledger on a real PostgreSQL: balanced, idempotent by key, immutable, balances equal to the
// sum of their entries, also under concurrent postings.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { sql } from 'slonik';
import { z } from 'zod';
import { balanceOf, createLedgerWriter, postTransaction } from '../../db/ledger.ts';
import { creditsIssued, userCredits } from '../../domain/ledger-postings.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase(16);
});
afterAll(async () => {
  await database?.drop();
});

const account = userCredits;
const source = creditsIssued;

async function balancesMatchEntries(): Promise<boolean> {
  const mismatches = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int AS n FROM ledger_balances a
    WHERE a.balance <> coalesce((SELECT sum(amount) FROM ledger_entries e WHERE e.account_id = a.id), 0)`);
  return mismatches === 0;
}

describe('ledger', () => {
  it('posts a balanced transaction once per idempotency key', async () => {
    const posting = {
      key: 'grant:1',
      kind: 'grant',
      entries: [
        { ...account('u1'), amount: 250 },
        { ...source, amount: -250 },
      ],
    };
    const first = await postTransaction(database.db, posting);
    const again = await postTransaction(database.db, posting);
    expect(first.created).toBe(true);
    expect(again).toEqual({ transaction_id: first.transaction_id, created: false });
    expect(await balanceOf(database.db, account('u1'))).toBe(250);
  });

  it('refuses a transaction that does not balance, writing nothing', async () => {
    await expect(
      postTransaction(database.db, {
        key: 'bad:1',
        kind: 'grant',
        entries: [
          { ...account('u2'), amount: 10 },
          { ...source, amount: -9 },
        ],
      }),
    ).rejects.toThrow();
    expect(await balanceOf(database.db, account('u2'))).toBe(0);
    expect(
      await database.db.exists(sql.unsafe`SELECT 1 FROM ledger_transactions WHERE idempotency_key = 'bad:1'`),
    ).toBe(false);
  });

  it('keeps entries immutable', async () => {
    await expect(database.db.query(sql.unsafe`UPDATE ledger_entries SET amount = amount + 1`)).rejects.toThrow(
      /immutable/,
    );
    await expect(database.db.query(sql.unsafe`DELETE FROM ledger_transactions`)).rejects.toThrow(/immutable/);
  });

  it('keeps every balance equal to the sum of its entries under concurrent postings, with retries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            to: fc.integer({ min: 0, max: 4 }),
            amount: fc.integer({ min: 1, max: 10_000 }),
            repeat: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (moves) => {
          const run = Math.random().toString(36).slice(2);
          await Promise.all(
            moves.flatMap((m, i) => {
              const posting = {
                key: `prop:${run}:${i}`,
                kind: 'move',
                entries: [
                  { ...account(`p${m.to}`), amount: m.amount },
                  { ...source, amount: -m.amount },
                ],
              };
              return m.repeat
                ? [postTransaction(database.db, posting), postTransaction(database.db, posting)]
                : [postTransaction(database.db, posting)];
            }),
          );
          return balancesMatchEntries();
        },
      ),
      { numRuns: 15 },
    );
    const total = await database.db.oneFirst(
      sql.type(
        z.object({ n: z.number() }),
      )`SELECT coalesce(sum(balance), 0)::bigint AS n FROM ledger_balances WHERE currency = 'CREDIT'`,
    );
    expect(total).toBe(0);
  });

  it('batches concurrent postings through the writer: each key once, a bad posting fails alone', async () => {
    const writer = createLedgerWriter(database.db, { maxBatch: 50, maxInFlight: 1 });
    const grant = (key: string, to: string, amount: number, sourceAmount = -amount) =>
      writer.post({
        key,
        kind: 'grant',
        entries: [
          { ...account(to), amount },
          { ...source, amount: sourceAmount },
        ],
      });
    const results = await Promise.allSettled([
      ...Array.from({ length: 120 }, (_, i) => grant(`w:${i}`, `w${i % 7}`, 10)),
      grant('w:0', 'w0', 10), // the same key again, in the same burst
      grant('w:bad', 'w1', 10, -9), // does not balance
    ]);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    const firsts = results
      .slice(0, 120)
      .map((r) => (r as PromiseFulfilledResult<{ transaction_id: string; created: boolean }>).value);
    expect(firsts.every((r) => r.created)).toBe(true);
    const repeat = (results[120] as PromiseFulfilledResult<{ transaction_id: string; created: boolean }>).value;
    expect(repeat).toEqual({ transaction_id: firsts[0]!.transaction_id, created: false });
    const balances = await Promise.all(Array.from({ length: 7 }, (_, i) => balanceOf(database.db, account(`w${i}`))));
    expect(balances.reduce((a, b) => a + b, 0)).toBe(1_200);
    expect(await balancesMatchEntries()).toBe(true);
    const again = await grant('w:5', 'w5', 10);
    expect(again).toEqual({ transaction_id: firsts[5]!.transaction_id, created: false });
  });
});
