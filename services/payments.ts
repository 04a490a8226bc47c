// Money events from the product's billing: payments, refunds, and fraud verdicts on edges. Each is
// recorded in PostgreSQL with the message for the edge's workflow in the same statement (the relay
// delivers it), and is idempotent by its id: a repeat answers the first record and changes nothing.
import type { DatabasePool } from 'slonik';
import { paymentEventId, type Verdict } from '../domain/lifecycle.ts';
import { findPayment, insertPayment, type PaymentRow } from '../db/payments.ts';
import { commissionOfPayment } from '../db/ledger.ts';
import { insertRefund, refundedOf, type RefundRow } from '../db/refunds.ts';
import { insertVerdict, type VerdictRow } from '../db/verdicts.ts';
import { messageOutcome } from '../db/outbox.ts';
import { conflict, invalid, notFound } from './errors.ts';
import { recordsCards, type SignalSettings } from './fraud-signals.ts';

export type PaymentDeps = {
  db: DatabasePool;
  /** Whether a payment's card fingerprint is recorded as a fraud signal (default: yes). */
  fraud?: SignalSettings;
};

export type CommissionView = {
  status: 'pending' | 'earned' | 'not_eligible' | 'forfeited';
  reason: string | null;
  cashCents: number;
  credits: number;
};
export type PaymentView = { payment: PaymentRow; refundedCents: number; commission: CommissionView };

export async function recordPayment(
  deps: PaymentDeps,
  input: {
    paymentId: string;
    userId: string;
    amountCents: number;
    currency: 'USD';
    paidAt?: Date | undefined;
    paymentMethodFingerprint?: string | undefined;
  },
): Promise<{ view: PaymentView; created: boolean }> {
  const written = await insertPayment(
    deps.db,
    {
      id: input.paymentId,
      userId: input.userId,
      amountCents: input.amountCents,
      currency: input.currency,
      paidAt: input.paidAt ?? new Date(),
      paymentMethodFingerprint: input.paymentMethodFingerprint ?? null,
    },
    { recordCard: recordsCards(deps.fraud) },
  );
  if (!written) throw notFound('user_not_found', `No user ${input.userId}.`, 'userId');
  const { row, created } = written;
  const same =
    row.user_id === input.userId &&
    row.amount_cents === input.amountCents &&
    row.currency === input.currency &&
    (!input.paidAt || row.paid_at.getTime() === input.paidAt.getTime()) &&
    (!input.paymentMethodFingerprint || row.payment_method_fingerprint === input.paymentMethodFingerprint);
  if (!created && !same)
    throw conflict(
      'payment_conflict',
      `Payment ${input.paymentId} was already recorded with other details.`,
      'paymentId',
    );
  // Just recorded: nothing refunded or priced yet, so no need to ask the ledger.
  if (created) return { view: { payment: row, refundedCents: 0, commission: fresh(row) }, created };
  return { view: await paymentView(deps, row), created };
}

export async function getPayment(deps: PaymentDeps, paymentId: string): Promise<PaymentView> {
  const row = await findPayment(deps.db, paymentId);
  if (!row) throw notFound('payment_not_found', `No payment ${paymentId}.`, 'paymentId');
  return paymentView(deps, row);
}

function fresh(row: PaymentRow): CommissionView {
  return row.edge_id === null
    ? { status: 'not_eligible', reason: 'no_edge', cashCents: 0, credits: 0 }
    : { status: 'pending', reason: null, cashCents: 0, credits: 0 };
}

/** What the payment earned, from the ledger (net of clawbacks), and where its pricing stands. */
async function paymentView(deps: PaymentDeps, row: PaymentRow): Promise<PaymentView> {
  const [refunded, money, outcome] = await Promise.all([
    refundedOf(deps.db, row.id),
    commissionOfPayment(deps.db, row.id),
    row.edge_id && row.commission_status === 'pending'
      ? messageOutcome(deps.db, paymentEventId(row.id))
      : Promise.resolve(null),
  ]);
  let status = row.commission_status as CommissionView['status'];
  let reason = row.commission_reason;
  if (row.edge_id === null) [status, reason] = ['not_eligible', 'no_edge'];
  else if (status === 'pending' && outcome === 'workflow_closed') [status, reason] = ['not_eligible', 'edge_closed'];
  return {
    payment: row,
    refundedCents: refunded,
    commission: { status, reason, cashCents: money.cashCents, credits: money.credits },
  };
}

export async function recordRefund(
  deps: PaymentDeps,
  input: {
    refundId: string;
    paymentId: string;
    amountCents: number;
    refundedAt?: Date | undefined;
    chargeback?: boolean | undefined;
  },
): Promise<{ refund: RefundRow; payment: PaymentView; created: boolean }> {
  const outcome = await insertRefund(deps.db, {
    id: input.refundId,
    paymentId: input.paymentId,
    amountCents: input.amountCents,
    refundedAt: input.refundedAt ?? new Date(),
    chargeback: input.chargeback ?? false,
  });
  if (outcome.kind === 'unknown_payment')
    throw notFound('payment_not_found', `No payment ${input.paymentId}.`, 'paymentId');
  if (outcome.kind === 'exceeds_payment') {
    throw invalid(
      'refund_exceeds_payment',
      `Payment ${input.paymentId} is ${outcome.payment.amount_cents} cents with ${outcome.refundedCents} already refunded: at most ${outcome.payment.amount_cents - outcome.refundedCents} more can be refunded.`,
      'amountCents',
    );
  }
  if (
    outcome.kind === 'existing' &&
    (outcome.row.payment_id !== input.paymentId ||
      outcome.row.amount_cents !== input.amountCents ||
      (input.chargeback !== undefined && outcome.row.chargeback !== input.chargeback))
  ) {
    throw conflict('refund_conflict', `Refund ${input.refundId} was already recorded with other details.`, 'refundId');
  }
  return {
    refund: outcome.row,
    payment: await paymentView(deps, outcome.payment),
    created: outcome.kind === 'created',
  };
}

export async function recordVerdict(
  deps: PaymentDeps,
  input: { verdictId: string; edgeId: string; verdict: Verdict; reason: string; decidedBy: string },
): Promise<{ verdict: VerdictRow; created: boolean }> {
  const { verdictId, ...verdict } = input;
  const written = await insertVerdict(deps.db, { id: verdictId, ...verdict });
  if (!written) throw notFound('edge_not_found', `No edge ${input.edgeId}.`, 'edgeId');
  const { row, created } = written;
  if (!created && (row.edge_id !== input.edgeId || row.verdict !== input.verdict))
    throw conflict(
      'verdict_conflict',
      `Verdict ${input.verdictId} was already recorded with other details.`,
      'verdictId',
    );
  return { verdict: row, created };
}
