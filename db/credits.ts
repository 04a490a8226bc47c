// Credits in PostgreSQL: a user's balance and movements (read from the ledger), the product's spends
// (never below zero: the balance row is locked while a spend is decided), and the grants an invite or
// a referral link makes both ways, posted once by their business keys and taken back by a fraud void.
import { sql, type DatabasePool, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import {
  grantReversalPosting,
  inviterGrantPosting,
  linkInviteeKey,
  inviterGrantKey,
  sameSpend,
  spendOutcome,
  spendPosting,
  takeBack,
} from '../domain/credits.ts';
import type { EdgeKind, EdgeSource } from '../domain/edge.ts';
import { userCredits } from '../domain/ledger-postings.ts';
import type { InviteFlavor } from '../domain/invite-flavors.ts';
import { balanceOf, lockedBalance, postTransaction, postTransactions } from './ledger.ts';
import { flavorOfCode, redemptionOf } from './invite-codes.ts';
import type { Db } from './pool.ts';
import { refreshStanding } from './standing.ts';
import { revokeHeadStart } from './users.ts';

export const creditBalance = (db: Db, userId: string) => balanceOf(db, userCredits(userId));

const movementRow = z.object({
  entry_id: z.number(),
  amount: z.number(),
  kind: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.date(),
});
export type MovementRow = z.infer<typeof movementRow>;

/** A user's credit movements, newest first: `limit` of them before the entry `before` (exclusive) when given. */
export async function creditMovements(
  db: Db,
  userId: string,
  page: { limit: number; before: number | null },
): Promise<readonly MovementRow[]> {
  const account = userCredits(userId);
  return db.any(sql.type(movementRow)`
    SELECT e.id AS entry_id, e.amount, t.kind, t.metadata, e.created_at
    FROM ledger_accounts a
    JOIN ledger_entries e ON e.account_id = a.id
    JOIN ledger_transactions t ON t.id = e.transaction_id
    WHERE a.owner_type = ${account.ownerType} AND a.owner_id = ${account.ownerId} AND a.purpose = ${account.purpose}
      AND a.currency = ${account.currency} AND (${page.before}::bigint IS NULL OR e.id < ${page.before}::bigint)
    ORDER BY e.id DESC LIMIT ${page.limit}`);
}

// ---- Spends -----------------------------------------------------------------------------------

const spendRow = z.object({
  id: z.string(),
  user_id: z.uuid(),
  credits: z.number(),
  reason: z.string().nullable(),
  balance_after: z.number(),
  created_at: z.date(),
});
export type SpendRow = z.infer<typeof spendRow>;

export type SpendResult =
  | { outcome: 'spent' | 'replayed'; spend: SpendRow }
  | { outcome: 'conflict'; spend: SpendRow }
  | { outcome: 'insufficient_credits'; balance: number };

/**
 * Spends a user's credits once per spend id: the balance row is locked, the spend taken whole if the
 * balance covers it (else nothing is written), the ledger posting and the spend's row (its answer)
 * written together. A known spend id answers the stored spend: `replayed` for the same body,
 * `conflict` for another.
 */
export async function spendCredits(
  pool: DatabasePool,
  s: { spendId: string; userId: string; credits: number; reason: string | null },
): Promise<SpendResult> {
  return pool.transaction(async (tx) => {
    const known = await findSpend(tx, s.spendId);
    if (known) return { outcome: sameSpend(toSpend(known), s) ? 'replayed' : 'conflict', spend: known };
    const balance = await lockedBalance(tx, userCredits(s.userId));
    if (spendOutcome(balance, s.credits) === 'insufficient_credits')
      return { outcome: 'insufficient_credits', balance };
    // A racing request with this spend id (whose lock we waited for, if it spent from the same user) won:
    // its row is answered; ours writes nothing.
    const inserted = await tx.maybeOne(sql.type(spendRow)`
      INSERT INTO credit_spends (id, user_id, credits, reason, balance_after)
      VALUES (${s.spendId}, ${s.userId}, ${s.credits}, ${s.reason}, ${balance - s.credits})
      ON CONFLICT (id) DO NOTHING
      RETURNING id, user_id, credits, reason, balance_after, created_at`);
    if (!inserted) {
      const other = (await findSpend(tx, s.spendId))!;
      return { outcome: sameSpend(toSpend(other), s) ? 'replayed' : 'conflict', spend: other };
    }
    await postTransaction(tx, spendPosting(s));
    return { outcome: 'spent', spend: inserted };
  });
}

const toSpend = (r: SpendRow) => ({ userId: r.user_id, credits: r.credits, reason: r.reason });

async function findSpend(db: Db, spendId: string): Promise<SpendRow | null> {
  return db.maybeOne(sql.type(spendRow)`
    SELECT id, user_id, credits, reason, balance_after, created_at FROM credit_spends WHERE id = ${spendId}`);
}

// ---- Grants both ways, and their reversal -------------------------------------------------------

const edgeRow = z.object({
  id: z.uuid(),
  referrer_id: z.uuid(),
  referee_id: z.uuid(),
  kind: z.string(),
  source: z.string(),
  code: z.string().nullable(),
  vested: z.boolean(),
  voided: z.boolean(),
  held: z.boolean(),
});

async function lockEdge(tx: DatabaseTransactionConnection, edgeId: string) {
  return tx.maybeOne(sql.type(edgeRow)`
    SELECT id, referrer_id, referee_id, kind, source, code, vested_at IS NOT NULL AS vested,
           voided_at IS NOT NULL AS voided, held_at IS NOT NULL AS held
    FROM edges WHERE id = ${edgeId} FOR UPDATE`);
}

export type InviterGrantOutcome = 'posted' | 'nothing' | 'held' | 'not_vested' | 'voided' | 'no_edge';

/**
 * Posts the inviter's grant of a vested edge, once (keyed by the edge): `amount` says how much for
 * the edge's kind, source and code flavor. Under the edge's row lock (verdicts take it first), so a
 * held edge posts nothing (`held`: the caller waits for the review) and a voided one never does.
 */
export async function postInviterGrant(
  pool: DatabasePool,
  edgeId: string,
  amount: (edge: { kind: EdgeKind; source: EdgeSource; flavor: InviteFlavor | null }) => number,
): Promise<InviterGrantOutcome> {
  return pool.transaction(async (tx) => {
    const edge = await lockEdge(tx, edgeId);
    if (!edge) return 'no_edge';
    if (edge.voided) return 'voided';
    if (!edge.vested) return 'not_vested';
    if (edge.held) return 'held';
    const flavor = edge.source === 'invite_code' ? await flavorOfCode(tx, edge.code) : null;
    const credits = amount({ kind: edge.kind as EdgeKind, source: edge.source as EdgeSource, flavor });
    const posting = inviterGrantPosting({ edgeId, userId: edge.referrer_id, credits });
    if (!posting) return 'nothing';
    await postTransaction(tx, posting);
    return 'posted';
  });
}

/** What a posted grant gave a user's credits (0 when it was never posted). */
async function granted(db: Db, key: string, userId: string): Promise<number> {
  const account = userCredits(userId);
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT coalesce(sum(e.amount), 0)::int8 AS n
    FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id JOIN ledger_accounts a ON a.id = e.account_id
    WHERE t.idempotency_key = ${key} AND a.owner_type = ${account.ownerType} AND a.owner_id = ${account.ownerId}
      AND a.purpose = ${account.purpose} AND a.currency = ${account.currency}`);
}

/**
 * A fraud void takes back what the edge's invite or link gave, once each: the inviter's grant (if it
 * was posted), the invitee's (the code's credits at redemption, or the link's at signup) as far as
 * each still has them (never below zero; the rest is recorded as the shortfall), and the invitee's
 * head start (their place recounted). Running it again changes nothing. No-op unless the edge is voided.
 */
export async function reverseInviteGrants(pool: DatabasePool, edgeId: string): Promise<boolean> {
  return pool.transaction(async (tx) => {
    const edge = await lockEdge(tx, edgeId);
    if (!edge || !edge.voided) return false;
    const inviteeKey =
      edge.source === 'invite_code' && edge.code
        ? await redemptionOf(tx, edge.code, edge.referee_id).then((id) => (id ? `redemption:${id}` : null))
        : linkInviteeKey(edgeId);
    const grants = [
      { key: inviterGrantKey(edgeId), userId: edge.referrer_id },
      ...(inviteeKey ? [{ key: inviteeKey, userId: edge.referee_id }] : []),
    ];
    const postings = [];
    for (const g of grants) {
      const amount = await granted(tx, g.key, g.userId);
      if (amount <= 0) continue;
      const { credits, shortfall } = takeBack(amount, await lockedBalance(tx, userCredits(g.userId)));
      const reversal = grantReversalPosting({ grantKey: g.key, edgeId, userId: g.userId, credits, shortfall });
      if (reversal) postings.push(reversal);
    }
    await postTransactions(tx, postings);
    if (await revokeHeadStart(tx, edge.referee_id, edgeId))
      await refreshStanding(tx, edge.referee_id, `head start taken back (edge ${edgeId} voided)`);
    return true;
  });
}
