// Payments and refunds the product's billing reports, each written with the outbox row that tells
// the payer's edge workflow (one statement, so neither half is lost), and what pricing reads.
import { sql } from 'slonik';
import { z } from 'zod';
import { paymentEventId, refundEventId, type PaymentEvent, type RefundEvent } from '../domain/lifecycle.ts';
import type { Db } from './users.ts';

export const paymentRow = z.object({
  id: z.string(),
  user_id: z.uuid(),
  amount_cents: z.number(),
  currency: z.literal('USD'),
  paid_at: z.date(),
  edge_id: z.uuid().nullable(),
  commission_status: z.string(),
  commission_reason: z.string().nullable(),
  priced_at: z.date().nullable(),
  created_at: z.date(),
});
export type PaymentRow = z.infer<typeof paymentRow>;
const paymentColumns = sql.fragment`id, user_id, amount_cents, currency, paid_at, edge_id, commission_status, commission_reason, priced_at, created_at`;

export type NewPayment = { id: string; userId: string; amountCents: number; currency: 'USD'; paidAt: Date };

/**
 * Records a payment and, when the payer has an edge, the message for its workflow; a known payment
 * id writes nothing. Answers the stored row and whether this call wrote it (null: no such user).
 */
export async function insertPayment(db: Db, p: NewPayment): Promise<{ row: PaymentRow; created: boolean } | null> {
  const event: PaymentEvent = { eventId: paymentEventId(p.id), paymentId: p.id, amountCents: p.amountCents, currency: p.currency, paidAt: p.paidAt.toISOString() };
  const written = await db.maybeOne(sql.type(paymentRow.extend({ created: z.boolean() }))`
    WITH payer AS (
      SELECT u.id, e.id AS edge_id, 'edge:' || u.id AS workflow_id FROM users u LEFT JOIN edges e ON e.referee_id = u.id WHERE u.id = ${p.userId}
    ), inserted AS (
      INSERT INTO payments (id, user_id, amount_cents, currency, paid_at, edge_id)
      SELECT ${p.id}, payer.id, ${p.amountCents}, ${p.currency}, ${event.paidAt}, payer.edge_id FROM payer
      ON CONFLICT (id) DO NOTHING
      RETURNING ${paymentColumns}
    ), message AS (
      INSERT INTO workflow_outbox (message_key, workflow_id, workflow_type, args, search_attributes, signal_name, signal_args)
      SELECT ${event.eventId}, o.workflow_id, o.workflow_type, o.args, o.search_attributes, 'payment', ${sql.jsonb([event])}
      FROM inserted JOIN payer ON payer.edge_id IS NOT NULL
      JOIN workflow_outbox o ON o.workflow_id = payer.workflow_id AND o.signal_name IS NULL
    )
    SELECT *, true AS created FROM inserted
    UNION ALL
    SELECT ${paymentColumns}, false FROM payments WHERE id = ${p.id} AND NOT EXISTS (SELECT 1 FROM inserted)`);
  if (!written) return null;
  const { created, ...row } = written;
  return { row, created };
}

export async function findPayment(db: Db, paymentId: string): Promise<PaymentRow | null> {
  return db.maybeOne(sql.type(paymentRow)`SELECT ${paymentColumns} FROM payments WHERE id = ${paymentId}`);
}

export const refundRow = z.object({ id: z.string(), payment_id: z.string(), amount_cents: z.number(), refunded_at: z.date(), created_at: z.date() });
export type RefundRow = z.infer<typeof refundRow>;
const refundColumns = sql.fragment`id, payment_id, amount_cents, refunded_at, created_at`;

export type NewRefund = { id: string; paymentId: string; amountCents: number; refundedAt: Date };

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
    const existing = await tx.maybeOne(sql.type(refundRow)`SELECT ${refundColumns} FROM refunds WHERE id = ${r.id}`);
    const payment = await tx.maybeOne(sql.type(paymentRow)`SELECT ${paymentColumns} FROM payments WHERE id = ${existing?.payment_id ?? r.paymentId} FOR UPDATE`);
    if (!payment) return { kind: 'unknown_payment' };
    const refundedCents = await tx.oneFirst(sql.type(z.object({ total: z.number() }))`
      SELECT coalesce(sum(amount_cents), 0)::int8 AS total FROM refunds WHERE payment_id = ${payment.id}`);
    if (existing) return { kind: 'existing', row: existing, payment, refundedCents };
    if (refundedCents + r.amountCents > payment.amount_cents) return { kind: 'exceeds_payment', payment, refundedCents };
    const event: RefundEvent = { eventId: refundEventId(r.id), refundId: r.id, paymentId: payment.id, amountCents: r.amountCents, refundedAt: r.refundedAt.toISOString() };
    const row = await tx.one(sql.type(refundRow)`
      WITH inserted AS (
        INSERT INTO refunds (id, payment_id, amount_cents, refunded_at) VALUES (${r.id}, ${payment.id}, ${r.amountCents}, ${event.refundedAt})
        RETURNING ${refundColumns}
      ), message AS (
        INSERT INTO workflow_outbox (message_key, workflow_id, workflow_type, args, search_attributes, signal_name, signal_args)
        SELECT ${event.eventId}, o.workflow_id, o.workflow_type, o.args, o.search_attributes, 'refund', ${sql.jsonb([event])}
        FROM workflow_outbox o WHERE ${payment.edge_id !== null} AND o.workflow_id = ${'edge:' + payment.user_id} AND o.signal_name IS NULL
      )
      SELECT * FROM inserted`);
    return { kind: 'created', row, payment, refundedCents: refundedCents + r.amountCents };
  });
}

/** What a payment's commission is, from the ledger: every transaction that names it. */
export async function paymentCommission(db: Db, paymentId: string): Promise<{ cashCents: number; credits: number }> {
  const row = await db.one(sql.type(z.object({ cash: z.number(), credits: z.number() }))`
    SELECT coalesce(sum(e.amount) FILTER (WHERE e.currency = 'USD'), 0)::int8 AS cash,
           coalesce(sum(e.amount) FILTER (WHERE e.currency = 'CREDIT'), 0)::int8 AS credits
    FROM ledger_transactions t
    JOIN ledger_entries e ON e.transaction_id = t.id
    JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_type <> 'platform'
    WHERE t.metadata ->> 'paymentId' = ${paymentId} AND t.kind IN ('commission', 'clawback', 'void')`);
  return { cashCents: row.cash, credits: row.credits };
}

/** What delivery found for a message: null while it waits, else 'delivered' or 'workflow_closed'. */
export async function messageOutcome(db: Db, messageKey: string): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ outcome: z.string().nullable() }))`SELECT outcome FROM workflow_outbox WHERE message_key = ${messageKey}`);
}

export async function refundedCents(db: Db, paymentId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ total: z.number() }))`SELECT coalesce(sum(amount_cents), 0)::int8 AS total FROM refunds WHERE payment_id = ${paymentId}`);
}

export type NewVerdict = { id: string; edgeId: string; verdict: 'hold' | 'clear' | 'void'; reason: string; decidedBy: string };
export const verdictRow = z.object({ id: z.string(), edge_id: z.uuid(), verdict: z.enum(['hold', 'clear', 'void']), reason: z.string(), decided_by: z.string(), created_at: z.date() });
export type VerdictRow = z.infer<typeof verdictRow>;

/** Records a fraud verdict on an edge with the message for its workflow; a known verdict id writes nothing. Null: no such edge. */
export async function insertVerdict(db: Db, v: NewVerdict, signalArgs: unknown[]): Promise<{ row: VerdictRow; created: boolean } | null> {
  const row = await db.maybeOne(sql.type(verdictRow.extend({ created: z.boolean() }))`
    WITH edge AS (SELECT id, 'edge:' || referee_id AS workflow_id FROM edges WHERE id = ${v.edgeId}
    ), inserted AS (
      INSERT INTO edge_verdicts (id, edge_id, verdict, reason, decided_by)
      SELECT ${v.id}, edge.id, ${v.verdict}, ${v.reason}, ${v.decidedBy} FROM edge
      ON CONFLICT (id) DO NOTHING
      RETURNING id, edge_id, verdict, reason, decided_by, created_at
    ), message AS (
      INSERT INTO workflow_outbox (message_key, workflow_id, workflow_type, args, search_attributes, signal_name, signal_args)
      SELECT ${'verdict:' + v.id}, o.workflow_id, o.workflow_type, o.args, o.search_attributes, 'verdict', ${sql.jsonb(signalArgs as never)}
      FROM inserted JOIN edge ON true JOIN workflow_outbox o ON o.workflow_id = edge.workflow_id AND o.signal_name IS NULL
    )
    SELECT *, true AS created FROM inserted
    UNION ALL
    SELECT id, edge_id, verdict, reason, decided_by, created_at, false FROM edge_verdicts WHERE id = ${v.id} AND NOT EXISTS (SELECT 1 FROM inserted)`);
  if (!row) return null;
  const { created, ...rest } = row;
  return { row: rest, created };
}
