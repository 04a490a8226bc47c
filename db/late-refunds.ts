// What a late refund reads, under its payment's lock (so late refunds of one payment, and its
// pricing, go one at a time): the refund, its payment and how it was priced, every refund of the
// payment so far, and what the payment keeps in the ledger now, by account.
import { sql, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import type { CommissionTerms } from '../domain/commission.ts';
import { commissionExpense, creditsIssued, partnerEarningsKind, type Beneficiary } from '../domain/ledger-postings.ts';
import { refundClawbackKey } from '../domain/late-refund.ts';

/** How a payment was priced, as db/pricing.ts records it; only an earning pricing has terms. */
const earnedPricing = z.object({
  status: z.literal('earned'),
  terms: z.object({ salesBps: z.number(), creditBps: z.number(), recurringMonths: z.number().nullable() }),
  beneficiary: z.object({ tenantId: z.string(), referrerUserId: z.string() }),
});

export type LateRefundLedger = {
  refundId: string;
  paymentId: string;
  edgeId: string | null;
  amountCents: number;
  /** Every refund of the payment so far, this one included. */
  refundedCents: number;
  /** Null: the payment earned nothing (not priced, or priced as not eligible). */
  earned: { terms: CommissionTerms; beneficiary: Beneficiary } | null;
  /** What the payment's commission has in the partner's pending and payable accounts, and in credits. */
  pendingCents: number;
  payableCents: number;
  credits: number;
  /** Its clawback is already in the ledger (posted by the edge's workflow, or by an earlier attempt). */
  takenBack: boolean;
};

const factsRow = z.object({
  refund_id: z.string(),
  payment_id: z.string(),
  edge_id: z.uuid().nullable(),
  amount_cents: z.number(),
  pricing: z.unknown(),
  refunded_cents: z.number(),
  pending_cents: z.number(),
  payable_cents: z.number(),
  credits: z.number(),
  taken_back: z.boolean(),
});

/** Null: no such refund. Locks the refund's payment until the transaction ends. */
export async function lateRefundLedger(
  tx: DatabaseTransactionConnection,
  refundId: string,
): Promise<LateRefundLedger | null> {
  const paymentId = await tx.maybeOneFirst(
    sql.type(z.object({ payment_id: z.string() }))`SELECT payment_id FROM refunds WHERE id = ${refundId}`,
  );
  if (paymentId === null) return null;
  await tx.query(sql.unsafe`SELECT 1 FROM payments WHERE id = ${paymentId} FOR UPDATE`);
  const [pending, payable] = [partnerEarningsKind('pending'), partnerEarningsKind('payable')];
  const row = await tx.one(sql.type(factsRow)`
    WITH money AS (
      SELECT a.purpose, a.currency, sum(e.amount) AS amount
      FROM ledger_transactions t
      JOIN ledger_entries e ON e.transaction_id = t.id
      JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_type <> ${commissionExpense.ownerType}
      WHERE t.metadata ->> 'paymentId' = ${paymentId}
      GROUP BY a.purpose, a.currency
    )
    SELECT ${refundId} AS refund_id, p.id AS payment_id, p.edge_id, p.amount_cents, p.pricing,
      (SELECT coalesce(sum(amount_cents), 0) FROM refunds WHERE payment_id = p.id)::int8 AS refunded_cents,
      coalesce((SELECT amount FROM money WHERE purpose = ${pending.purpose} AND currency = ${pending.currency}), 0)::int8 AS pending_cents,
      coalesce((SELECT amount FROM money WHERE purpose = ${payable.purpose} AND currency = ${payable.currency}), 0)::int8 AS payable_cents,
      coalesce((SELECT sum(amount) FROM money WHERE currency = ${creditsIssued.currency}), 0)::int8 AS credits,
      EXISTS (SELECT 1 FROM ledger_transactions WHERE idempotency_key = ${refundClawbackKey(refundId)}) AS taken_back
    FROM payments p WHERE p.id = ${paymentId}`);
  const priced = earnedPricing.safeParse(row.pricing);
  return {
    refundId: row.refund_id,
    paymentId: row.payment_id,
    edgeId: row.edge_id,
    amountCents: row.amount_cents,
    refundedCents: row.refunded_cents,
    earned: priced.success ? { terms: priced.data.terms, beneficiary: priced.data.beneficiary } : null,
    pendingCents: row.pending_cents,
    payableCents: row.payable_cents,
    credits: row.credits,
    takenBack: row.taken_back,
  };
}
