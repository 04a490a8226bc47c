// Refunds the product's billing reports, in part or in full, each written with the outbox row that
// has it taken back: the message for the payment's edge workflow while that runs, else (the edge
// has ended: completed, voided or expired) the start of a late refund workflow of its own
// (contracts/late-refund.ts). The edge's row is read under a share lock, so its workflow's end
// (the stamp) and a refund are ordered: a refund recorded before the stamp is in the refunds the
// stamp hands to late refunds (migration 0012), one recorded after goes late itself.
// A chargeback (a dispute the payer won) is recorded as one that says so: it takes back commission
// the same way.
import { sql } from 'slonik';
import { z } from 'zod';
import { refundEventId, type RefundEvent } from '../domain/lifecycle.ts';
import { refundSignal } from '../contracts/edge-lifecycle.ts';
import { lateRefundStart, REFUND_SUBJECT } from '../contracts/late-refund.ts';
import type { WorkflowStart } from '../contracts/workflow-start.ts';
import { edgeMessage } from './outbox.ts';
import { findPayment, type PaymentRow } from './payments.ts';
import type { Db } from './pool.ts';

export const refundRow = z.object({
  id: z.string(),
  payment_id: z.string(),
  amount_cents: z.number(),
  refunded_at: z.date(),
  chargeback: z.boolean(),
  created_at: z.date(),
});
export type RefundRow = z.infer<typeof refundRow>;
const refundColumns = sql.fragment`id, payment_id, amount_cents, refunded_at, chargeback, created_at`;

export type NewRefund = {
  id: string;
  paymentId: string;
  amountCents: number;
  refundedAt: Date;
  /** A chargeback (a dispute the payer won) rather than a refund; false when left out. */
  chargeback?: boolean;
};

export type RefundOutcome =
  | {
      kind: 'created' | 'existing';
      row: RefundRow;
      payment: PaymentRow;
      refundedCents: number;
      /** Created with a late refund's start (the edge's workflow had ended), not a message to it. */
      late?: boolean;
    }
  | { kind: 'unknown_payment' }
  | { kind: 'exceeds_payment'; payment: PaymentRow; refundedCents: number };

/**
 * Records a refund of part or all of a payment, with the message for the edge's workflow or, once
 * that has ended, a late refund's start. The payment row is locked, so concurrent refunds never add
 * up to more than the payment.
 */
export async function insertRefund(db: Db, r: NewRefund): Promise<RefundOutcome> {
  return db.transaction(async (tx) => {
    const byId = () => tx.maybeOne(sql.type(refundRow)`SELECT ${refundColumns} FROM refunds WHERE id = ${r.id}`);
    const seen = await byId();
    const payment = await findPayment(tx, seen?.payment_id ?? r.paymentId, { forUpdate: true });
    if (!payment) return { kind: 'unknown_payment' };
    // Read again under the payment's lock: the same refund sent concurrently may have committed
    // while this one waited for the lock (inserting it again would be a unique violation, a 500).
    const existing = seen ?? (await byId());
    const refundedCents = await refundedOf(tx, payment.id);
    if (existing) return { kind: 'existing', row: existing, payment, refundedCents };
    if (refundedCents + r.amountCents > payment.amount_cents)
      return { kind: 'exceeds_payment', payment, refundedCents };
    const event: RefundEvent = {
      eventId: refundEventId(r.id),
      refundId: r.id,
      paymentId: payment.id,
      amountCents: r.amountCents,
      refundedAt: r.refundedAt.toISOString(),
    };
    const late = payment.edge_id !== null && (await edgeEnded(tx, payment.edge_id));
    const row = await tx.one(sql.type(refundRow)`
      WITH inserted AS (
        INSERT INTO refunds (id, payment_id, amount_cents, refunded_at, chargeback) VALUES (${r.id}, ${payment.id}, ${r.amountCents}, ${event.refundedAt}, ${r.chargeback ?? false})
        RETURNING ${refundColumns}
      ), message AS (
        ${edgeMessage(refundSignal, event, sql.fragment`${payment.edge_id}::uuid`)}
        WHERE ${payment.edge_id !== null && !late}
      ), late_start AS (
        INSERT INTO workflow_outbox (subject, subject_id) SELECT ${REFUND_SUBJECT}, id FROM inserted WHERE ${late}
        ON CONFLICT (subject, subject_id) WHERE signal_name IS NULL DO NOTHING
      )
      SELECT * FROM inserted`);
    return { kind: 'created', row, payment, refundedCents: refundedCents + r.amountCents, late };
  });
}

/**
 * Whether the edge's workflow has ended (stamped completed, voided or expired), its row share-locked until the
 * transaction ends: the stamp waits for this refund, or this refund sees the stamp.
 */
async function edgeEnded(db: Db, edgeId: string): Promise<boolean> {
  return db.oneFirst(sql.type(z.object({ ended: z.boolean() }))`
    SELECT (completed_at IS NOT NULL OR voided_at IS NOT NULL OR expired_at IS NOT NULL) AS ended
    FROM edges WHERE id = ${edgeId} FOR SHARE`);
}

const lateRefundRow = z.object({
  id: z.string(),
  payment_id: z.string(),
  amount_cents: z.number(),
  edge_id: z.uuid(),
  referrer_id: z.uuid(),
  referee_id: z.uuid(),
});

/** The starts of these refunds' late refund workflows, by refund id; a refund without an edge is absent. */
export async function lateRefundStarts(db: Db, refundIds: readonly string[]): Promise<Map<string, WorkflowStart>> {
  if (refundIds.length === 0) return new Map();
  const rows = await db.any(sql.type(lateRefundRow)`
    SELECT r.id, r.payment_id, r.amount_cents, e.id AS edge_id, e.referrer_id, e.referee_id
    FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN edges e ON e.id = p.edge_id
    WHERE r.id = ANY(${sql.array([...refundIds], 'text')})`);
  return new Map(
    rows.map((row) => [
      row.id,
      lateRefundStart({
        refundId: row.id,
        paymentId: row.payment_id,
        amountCents: row.amount_cents,
        edgeId: row.edge_id,
        referrerId: row.referrer_id,
        refereeId: row.referee_id,
      }),
    ]),
  );
}

/** How much of a payment has been refunded so far. */
export async function refundedOf(db: Db, paymentId: string): Promise<number> {
  return db.oneFirst(
    sql.type(
      z.object({ total: z.number() }),
    )`SELECT coalesce(sum(amount_cents), 0)::int8 AS total FROM refunds WHERE payment_id = ${paymentId}`,
  );
}
