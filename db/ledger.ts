// The ledger: ledger_post_batch posts one or many balanced transactions in one round trip,
// idempotent by business key; balances and a payment's commission are read from its entries.
import { sql, type DatabasePool, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';

import {
  COMMISSION_KINDS,
  commissionExpense,
  creditsIssued,
  type AccountRef,
  type LedgerPosting,
} from '../domain/ledger-postings.ts';
import type { Db } from './pool.ts';

const posted = z.object({ transaction_id: z.uuid(), created: z.boolean() });

const postedInBatch = z.object({ idempotency_key: z.string(), transaction_id: z.uuid(), created: z.boolean() });

/** One call of ledger_post_batch; postings must have distinct keys. */
function postBatch(db: DatabasePool | DatabaseTransactionConnection, postings: readonly LedgerPosting[]) {
  const entries = postings.flatMap((p, i) => p.entries.map((e) => ({ ...e, tx: i + 1 })));
  return db.any(sql.type(postedInBatch)`
    SELECT idempotency_key, transaction_id, created FROM ledger_post_batch(
      ${sql.array(
        postings.map((p) => p.key),
        'text',
      )}, ${sql.array(
        postings.map((p) => p.kind),
        'text',
      )},
      ${sql.array(
        postings.map((p) => JSON.stringify(p.metadata ?? {})),
        'jsonb',
      )},
      ${sql.array(
        entries.map((e) => e.tx),
        'int4',
      )}, ${sql.array(
        entries.map((e) => e.ownerType),
        'text',
      )},
      ${sql.array(
        entries.map((e) => e.ownerId),
        'text',
      )}, ${sql.array(
        entries.map((e) => e.purpose),
        'text',
      )},
      ${sql.array(
        entries.map((e) => e.currency),
        'text',
      )}, ${sql.array(
        entries.map((e) => e.amount),
        'int8',
      )})`);
}

/** Posts transactions with distinct keys in one call (inside the caller's transaction when given one). */
export async function postTransactions(
  db: DatabasePool | DatabaseTransactionConnection,
  postings: readonly LedgerPosting[],
): Promise<void> {
  if (postings.length > 0) await postBatch(db, postings);
}

/** Posts one transaction (inside the caller's transaction when given one). */
export async function postTransaction(
  db: DatabasePool | DatabaseTransactionConnection,
  posting: LedgerPosting,
): Promise<z.infer<typeof posted>> {
  const [row] = await postBatch(db, [posting]);
  return { transaction_id: row!.transaction_id, created: row!.created };
}

export async function balanceOf(
  db: DatabasePool | DatabaseTransactionConnection,
  account: AccountRef,
): Promise<number> {
  const balance = await db.maybeOneFirst(sql.type(z.object({ balance: z.number() }))`
    SELECT balance FROM ledger_balances
    WHERE owner_type = ${account.ownerType} AND owner_id = ${account.ownerId} AND purpose = ${account.purpose} AND currency = ${account.currency}`);
  return balance ?? 0;
}

/**
 * The running balance of a user or tenant account, its row locked until the transaction ends (so
 * what is taken from it on this reading cannot be spent meanwhile); 0 for an account not opened yet.
 */
export async function lockedBalance(tx: DatabaseTransactionConnection, account: AccountRef): Promise<number> {
  const balance = await tx.maybeOneFirst(sql.type(z.object({ balance: z.number() }))`
    SELECT balance FROM ledger_accounts
    WHERE owner_type = ${account.ownerType} AND owner_id = ${account.ownerId} AND purpose = ${account.purpose} AND currency = ${account.currency}
    FOR UPDATE`);
  return balance ?? 0;
}

export type LedgerWriter = { post(posting: LedgerPosting): Promise<z.infer<typeof posted>> };

/**
 * Posts concurrent transactions together: while one call is in flight, postings queue and go in
 * the next call as one batch (group commit), so throughput is not bounded by one round trip and one
 * function call per transaction. A batch that fails (one posting does not balance) is retried one
 * posting at a time, so only the bad posting fails.
 */
export function createLedgerWriter(
  db: DatabasePool,
  { maxBatch = 200, maxInFlight = 2 }: { maxBatch?: number; maxInFlight?: number } = {},
): LedgerWriter {
  type Waiter = { posting: LedgerPosting; resolve: (v: z.infer<typeof posted>) => void; reject: (e: unknown) => void };
  let queue: Waiter[] = [];
  let inFlight = 0;

  async function send(batch: Waiter[]): Promise<void> {
    const byKey = new Map<string, Waiter[]>();
    for (const w of batch) byKey.set(w.posting.key, [...(byKey.get(w.posting.key) ?? []), w]);
    const postings = [...byKey.values()].map((ws) => ws[0]!.posting);
    try {
      const rows = await postBatch(db, postings);
      for (const row of rows) {
        const waiters = byKey.get(row.idempotency_key) ?? [];
        waiters.forEach((w, i) => w.resolve({ transaction_id: row.transaction_id, created: row.created && i === 0 }));
      }
    } catch (err) {
      if (postings.length === 1) {
        for (const w of batch) w.reject(err);
        return;
      }
      await Promise.all(postings.map((p) => send(byKey.get(p.key)!)));
    }
  }

  function pump(): void {
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      inFlight += 1;
      void send(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  }

  return {
    post(posting) {
      return new Promise((resolve, reject) => {
        queue.push({ posting, resolve, reject });
        pump();
      });
    },
  };
}

/** What a payment's commission is, from the ledger: every transaction that names it, on its owners' accounts. */
export async function commissionOfPayment(db: Db, paymentId: string): Promise<{ cashCents: number; credits: number }> {
  const row = await db.one(sql.type(z.object({ cash: z.number(), credits: z.number() }))`
    SELECT coalesce(sum(e.amount) FILTER (WHERE e.currency = ${commissionExpense.currency}), 0)::int8 AS cash,
           coalesce(sum(e.amount) FILTER (WHERE e.currency = ${creditsIssued.currency}), 0)::int8 AS credits
    FROM ledger_transactions t
    JOIN ledger_entries e ON e.transaction_id = t.id
    JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_type <> ${commissionExpense.ownerType}
    WHERE t.metadata ->> 'paymentId' = ${paymentId} AND t.kind = ANY(${sql.array([...COMMISSION_KINDS], 'text')})`);
  return { cashCents: row.cash, credits: row.credits };
}
