// Refunds the product's billing reports, in part or in full, each written with the outbox message
// that tells the payment's edge workflow. A chargeback (a dispute the payer won) is recorded as one
// that says so: it takes back commission the same way.
import { sql } from 'slonik';
import { z } from 'zod';
import { refundEventId, type RefundEvent } from '../domain/lifecycle.ts';
import { refundSignal } from '../contracts/edge-lifecycle.ts';
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
  | { kind: 'created' | 'existing'; row: RefundRow; payment: PaymentRow; refundedCents: number }
  | { kind: 'unknown_payment' }
  | { kind: 'exceeds_payment'; payment: PaymentRow; refundedCents: number };

/**
 * Records a refund of part or all of a payment, with the message for the edge's workflow. The
 * payment row is locked, so concurrent refunds never add up to more than the payment.
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
    const row = await tx.one(sql.type(refundRow)`
      WITH inserted AS (
        INSERT INTO refunds (id, payment_id, amount_cents, refunded_at, chargeback) VALUES (${r.id}, ${payment.id}, ${r.amountCents}, ${event.refundedAt}, ${r.chargeback ?? false})
        RETURNING ${refundColumns}
      ), message AS (
        ${edgeMessage(refundSignal, event, sql.fragment`${payment.edge_id}::uuid`)}
        WHERE ${payment.edge_id !== null}
      )
      SELECT * FROM inserted`);
    return { kind: 'created', row, payment, refundedCents: refundedCents + r.amountCents };
  });
}

/** How much of a payment has been refunded so far. */
export async function refundedOf(db: Db, paymentId: string): Promise<number> {
  return db.oneFirst(
    sql.type(
      z.object({ total: z.number() }),
    )`SELECT coalesce(sum(amount_cents), 0)::int8 AS total FROM refunds WHERE payment_id = ${paymentId}`,
  );
}
