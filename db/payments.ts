// Payments the product's billing reports, each written with the outbox message that tells the
// payer's edge workflow (one statement, so neither half is lost). What pricing reads is in
// db/pricing.ts; what a payment's commission is, in the ledger (db/ledger.ts).
import { sql } from 'slonik';
import { z } from 'zod';
import { paymentEventId, type PaymentEvent } from '../domain/lifecycle.ts';
import { paymentSignal } from '../contracts/edge-lifecycle.ts';
import { edgeMessage } from './outbox.ts';
import { paymentSource } from './fraud.ts';
import type { Db } from './pool.ts';

export const paymentRow = z.object({
  id: z.string(),
  user_id: z.uuid(),
  amount_cents: z.number(),
  currency: z.literal('USD'),
  paid_at: z.date(),
  edge_id: z.uuid().nullable(),
  commission_status: z.string(),
  commission_reason: z.string().nullable(),
  payment_method_fingerprint: z.string().nullable(),
  priced_at: z.date().nullable(),
  created_at: z.date(),
});
export type PaymentRow = z.infer<typeof paymentRow>;
const paymentColumns = sql.fragment`id, user_id, amount_cents, currency, paid_at, edge_id, commission_status, commission_reason, payment_method_fingerprint, priced_at, created_at`;

export type NewPayment = {
  id: string;
  userId: string;
  amountCents: number;
  currency: 'USD';
  paidAt: Date;
  /** The payment instrument's fingerprint (e.g. Stripe's card fingerprint), recorded as a fraud signal too. */
  paymentMethodFingerprint?: string | null;
};

/**
 * Records a payment, the card it was paid with as a fraud signal (unless `recordCard` is false),
 * and, when the payer has an edge, the message for its workflow; a known payment id writes nothing.
 * Answers the stored row and whether this call wrote it (null: no such user).
 */
export async function insertPayment(
  db: Db,
  p: NewPayment,
  { recordCard = true }: { recordCard?: boolean } = {},
): Promise<{ row: PaymentRow; created: boolean } | null> {
  const event: PaymentEvent = {
    eventId: paymentEventId(p.id),
    paymentId: p.id,
    amountCents: p.amountCents,
    currency: p.currency,
    paidAt: p.paidAt.toISOString(),
  };
  const written = await db.maybeOne(sql.type(paymentRow.extend({ created: z.boolean() }))`
    WITH payer AS (
      SELECT u.id, e.id AS edge_id FROM users u LEFT JOIN edges e ON e.referee_id = u.id WHERE u.id = ${p.userId}
    ), inserted AS (
      INSERT INTO payments (id, user_id, amount_cents, currency, paid_at, edge_id, payment_method_fingerprint)
      SELECT ${p.id}, payer.id, ${p.amountCents}, ${p.currency}, ${event.paidAt}, payer.edge_id, ${p.paymentMethodFingerprint ?? null}::text FROM payer
      ON CONFLICT (id) DO NOTHING
      RETURNING ${paymentColumns}
    ), card AS (
      INSERT INTO fraud_sightings (user_id, kind, value, source)
      SELECT inserted.user_id, 'card', inserted.payment_method_fingerprint, ${paymentSource(p.id)} FROM inserted
      WHERE inserted.payment_method_fingerprint IS NOT NULL AND ${recordCard}
      ON CONFLICT DO NOTHING
    ), message AS (
      ${edgeMessage(paymentSignal, event, sql.fragment`payer.edge_id`)}
      FROM inserted JOIN payer ON payer.edge_id IS NOT NULL
    )
    SELECT *, true AS created FROM inserted
    UNION ALL
    SELECT ${paymentColumns}, false FROM payments WHERE id = ${p.id} AND NOT EXISTS (SELECT 1 FROM inserted)`);
  if (!written) {
    // A concurrent insert of the same id committed while this statement waited on it: the row is
    // not in this statement's snapshot, but it is in the next one's. Nothing found then: no such user.
    const existing = await findPayment(db, p.id);
    return existing ? { row: existing, created: false } : null;
  }
  const { created, ...row } = written;
  return { row, created };
}

/** `forUpdate`: locked until the transaction ends (refunds of one payment are written one at a time). */
export async function findPayment(
  db: Db,
  paymentId: string,
  options: { forUpdate?: boolean } = {},
): Promise<PaymentRow | null> {
  return db.maybeOne(
    sql.type(
      paymentRow,
    )`SELECT ${paymentColumns} FROM payments WHERE id = ${paymentId} ${options.forUpdate ? sql.fragment`FOR UPDATE` : sql.fragment``}`,
  );
}
