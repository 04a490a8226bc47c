// The ledger's write path: one round trip per transaction (the ledger_post function), idempotent
// by business key.
import { sql, type DatabasePool, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';

export type Currency = 'USD' | 'CREDIT';
export type AccountRef = { ownerType: 'user' | 'tenant' | 'platform'; ownerId: string; purpose: string; currency: Currency };
export type LedgerEntry = AccountRef & { amount: number };
export type LedgerPosting = { key: string; kind: string; metadata?: Record<string, unknown>; entries: LedgerEntry[] };

const posted = z.object({ transaction_id: z.uuid(), created: z.boolean() });

export async function postTransaction(db: DatabasePool | DatabaseTransactionConnection, posting: LedgerPosting): Promise<z.infer<typeof posted>> {
  const e = posting.entries;
  return db.one(sql.type(posted)`
    SELECT transaction_id, created FROM ledger_post(${posting.key}, ${posting.kind}, ${sql.jsonb((posting.metadata ?? {}) as never)},
      ${sql.array(e.map((x) => x.ownerType), 'text')}, ${sql.array(e.map((x) => x.ownerId), 'text')},
      ${sql.array(e.map((x) => x.purpose), 'text')}, ${sql.array(e.map((x) => x.currency), 'text')},
      ${sql.array(e.map((x) => x.amount), 'int8')})`);
}

export async function balanceOf(db: DatabasePool | DatabaseTransactionConnection, account: AccountRef): Promise<number> {
  const balance = await db.maybeOneFirst(sql.type(z.object({ balance: z.number() }))`
    SELECT balance FROM ledger_balances
    WHERE owner_type = ${account.ownerType} AND owner_id = ${account.ownerId} AND purpose = ${account.purpose} AND currency = ${account.currency}`);
  return balance ?? 0;
}

/** Credits a user holds, and where granted credits come from. */
export const userCredits = (userId: string): AccountRef => ({ ownerType: 'user', ownerId: userId, purpose: 'credits', currency: 'CREDIT' });
export const creditsIssued: AccountRef = { ownerType: 'platform', ownerId: 'platform', purpose: 'credits_issued', currency: 'CREDIT' };
