// The retention gate of a beta-seeded commission, in PostgreSQL: what its referee did by the gate
// (cancelled, charged back, refunded any of their payments), and the gate's decision once taken (the
// release posted, or the payment marked forfeited), so a retried check answers what was decided.
import { sql } from 'slonik';
import { z } from 'zod';
import { FORFEIT_REASONS, type ForfeitReason, type RetentionFacts } from '../domain/edge-earnings.ts';
import type { Db } from './pool.ts';

/** The payment's commission status once the gate forfeited it (payments.commission_status). */
export const FORFEITED = 'forfeited';

/** What the edge's referee did up to `gateAt`, as reported; null: no such edge. */
export async function retentionFacts(db: Db, edgeId: string, gateAt: string): Promise<RetentionFacts | null> {
  const row = await db.maybeOne(
    sql.type(z.object({ cancelled: z.boolean(), charged_back: z.boolean(), refunded: z.boolean() }))`
    SELECT EXISTS (SELECT 1 FROM cancellations c WHERE c.user_id = e.referee_id AND c.cancelled_at <= ${gateAt}::timestamptz) AS cancelled,
           EXISTS (SELECT 1 FROM payments p JOIN refunds r ON r.payment_id = p.id
                   WHERE p.user_id = e.referee_id AND r.chargeback AND r.refunded_at <= ${gateAt}::timestamptz) AS charged_back,
           EXISTS (SELECT 1 FROM payments p JOIN refunds r ON r.payment_id = p.id
                   WHERE p.user_id = e.referee_id AND NOT r.chargeback AND r.refunded_at <= ${gateAt}::timestamptz) AS refunded
    FROM edges e WHERE e.id = ${edgeId}`,
  );
  return row && { cancelled: row.cancelled, chargedBack: row.charged_back, refunded: row.refunded };
}

export type GateDecision = { status: 'released' } | { status: 'forfeited'; reason: ForfeitReason };

/**
 * Locks the payment and answers the gate's decision if one was taken (its release posted under
 * `releaseKey`, or the payment forfeited); null when none was; undefined when there is no such
 * payment. The release is looked up after the lock, by a statement of its own, so it sees what an
 * attempt that held the lock before committed.
 */
export async function lockGateDecision(
  db: Db,
  paymentId: string,
  releaseKey: string,
): Promise<GateDecision | null | undefined> {
  const row = await db.maybeOne(
    sql.type(z.object({ commission_status: z.string(), commission_reason: z.string().nullable() }))`
    SELECT commission_status, commission_reason FROM payments WHERE id = ${paymentId} FOR UPDATE`,
  );
  if (!row) return undefined;
  if (row.commission_status === FORFEITED)
    return { status: 'forfeited', reason: z.enum(FORFEIT_REASONS).parse(row.commission_reason) };
  const released = await db.exists(sql.unsafe`SELECT 1 FROM ledger_transactions WHERE idempotency_key = ${releaseKey}`);
  return released ? { status: 'released' } : null;
}

/** The payment's commission was forfeited at its gate, and why (what the payment and edge views show). */
export async function markPaymentForfeited(db: Db, paymentId: string, reason: ForfeitReason): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE payments SET commission_status = ${FORFEITED}, commission_reason = ${reason} WHERE id = ${paymentId}`);
}
