// The money side effects of an edge's workflow, each one ledger transaction idempotent by its
// business key (commission:<paymentId>, release:<paymentId>, clawback:<refundId>, void:<paymentId>,
// forfeit:<paymentId>). The workflow decides the amounts from its own state; pricing reads
// PostgreSQL, because the phase and the partner's rates are facts of the moment the payment is
// priced, and so does a beta-seeded commission's retention gate, because what its referee did by
// then (cancelled, refunded, charged back) is reported to PostgreSQL.
import { ApplicationFailure } from '@temporalio/common';
import type { DatabasePool } from 'slonik';
import {
  isSelfPurchase,
  pricePayment,
  type CommissionSettings,
  type CommissionTerms,
  type Earned,
  type NotEligibleReason,
} from '../domain/commission.ts';
import {
  clawbackPosting,
  type ClawbackOf,
  commissionPosting,
  forfeitPosting,
  releaseKey,
  releasePosting,
  type Beneficiary,
  type LedgerPosting,
} from '../domain/ledger-postings.ts';
import { retentionVerdict, type GateCheck } from '../domain/edge-earnings.ts';
import { postTransaction, postTransactions } from '../db/ledger.ts';
import { lockGateDecision, markPaymentForfeited, retentionFacts, type GateDecision } from '../db/retention.ts';
import { lockPaymentPricings, markPaymentsNotEligible, pricingContext, recordPaymentPricings } from '../db/pricing.ts';
import { railOf, railsOf } from '../db/whop.ts';

export type PricedCommission =
  | { status: 'earned'; terms: CommissionTerms; earned: Earned; holdDays: number; beneficiary: Beneficiary }
  | { status: 'not_eligible'; reason: NotEligibleReason };

/** Failure types the workflow sees when pricing meets a broken invariant (non-retryable). */
export const EDGE_NOT_FOUND = 'EdgeNotFound';
export const PAYMENT_NOT_RECORDED = 'PaymentNotRecorded';

export type PaymentToPrice = { paymentId: string; amountCents: number; paidAt: string };

export type CommissionActivities = ReturnType<typeof createCommissionActivities>;

export function createCommissionActivities({ db, settings }: { db: DatabasePool; settings: CommissionSettings }) {
  return {
    /**
     * Prices payments that reached an edge, in the order they arrived, and posts their commissions:
     * one PostgreSQL transaction for the lot. The first payment that earns opens the recurring
     * window for the ones after it. A payment is priced once: a retry (after a crash, say) answers
     * the pricing already recorded, even if the phase or the partner's rates changed since, so the
     * workflow and the ledger never disagree.
     */
    async pricePayments(input: {
      edgeId: string;
      firstPaymentAt: string | null;
      payments: PaymentToPrice[];
    }): Promise<PricedCommission[]> {
      return db.transaction(async (tx) => {
        const recorded = await lockPaymentPricings(
          tx,
          input.payments.map((p) => p.paymentId),
        );
        // A payment through Whop is paid to the affiliate by Whop: its commission goes on the whop rail.
        const rails = await railsOf(
          tx,
          input.payments.map((p) => p.paymentId),
        );
        const context = await pricingContext(tx, input.edgeId);
        // An edge's workflow starts from the outbox row written with the edge, and a payment's
        // message with the payment: either missing is a broken invariant that no retry can mend.
        if (!context) throw ApplicationFailure.nonRetryable(`edge ${input.edgeId} does not exist`, EDGE_NOT_FOUND);
        const selfPurchase = isSelfPurchase(context.referrer, context.referee);
        let firstPaymentAt = input.firstPaymentAt;
        const results: PricedCommission[] = [];
        const postings: LedgerPosting[] = [];
        const pricings: { paymentId: string; pricing: PricedCommission }[] = [];
        for (const payment of input.payments) {
          if (!recorded.has(payment.paymentId))
            throw ApplicationFailure.nonRetryable(`payment ${payment.paymentId} is not recorded`, PAYMENT_NOT_RECORDED);
          let priced = recorded.get(payment.paymentId) as PricedCommission | null;
          if (!priced) {
            const pricing = pricePayment({
              kind: context.kind,
              phase: context.phase,
              partner: context.partner,
              selfPurchase,
              amountCents: payment.amountCents,
              paidAt: new Date(payment.paidAt),
              firstPaymentAt: firstPaymentAt ? new Date(firstPaymentAt) : null,
              settings,
            });
            priced =
              pricing.status === 'earned'
                ? {
                    ...pricing,
                    beneficiary: { tenantId: context.referrer.tenantId, referrerUserId: context.referrer.id },
                  }
                : pricing;
            if (priced.status === 'earned') {
              const posting = commissionPosting({
                paymentId: payment.paymentId,
                edgeId: input.edgeId,
                to: priced.beneficiary,
                earned: priced.earned,
                rail: rails.get(payment.paymentId) ?? 'ours',
              });
              if (posting) postings.push(posting);
            }
            pricings.push({ paymentId: payment.paymentId, pricing: priced });
          }
          if (priced.status === 'earned' && firstPaymentAt === null) firstPaymentAt = payment.paidAt;
          results.push(priced);
        }
        await postTransactions(tx, postings);
        await recordPaymentPricings(tx, pricings);
        return results;
      });
    },

    /** Commission past its holding period becomes payable. */
    async releaseCommission(input: {
      paymentId: string;
      edgeId: string;
      to: Beneficiary;
      cash: number;
    }): Promise<void> {
      const posting = releasePosting({ ...input, rail: await railOf(db, input.paymentId) });
      if (posting) await postTransaction(db, posting);
    },

    /** Takes back what a refund (clawback:<refundId>) or a void (void:<paymentId>) reverses. */
    async clawBackCommission(input: ClawbackOf): Promise<void> {
      const posting = clawbackPosting({ ...input, rail: await railOf(db, input.paymentId) });
      if (posting) await postTransaction(db, posting);
    },

    /**
     * A beta-seeded commission at its retention gate: released (pending -> payable) only if the
     * edge's referee had not cancelled, charged back or refunded (any of their payments) by the gate;
     * otherwise forfeited: what it keeps goes back (forfeit:<paymentId>) and the payment says why.
     * One transaction under the payment's lock; a retry answers the decision already taken, so the
     * commission is released or forfeited once, never both.
     */
    async settleRetentionGate(input: GateCheck & { edgeId: string }): Promise<GateDecision> {
      return db.transaction(async (tx) => {
        const decided = await lockGateDecision(tx, input.paymentId, releaseKey(input.paymentId));
        if (decided === undefined)
          throw ApplicationFailure.nonRetryable(`payment ${input.paymentId} is not recorded`, PAYMENT_NOT_RECORDED);
        if (decided) return decided;
        const facts = await retentionFacts(tx, input.edgeId, input.gateAt);
        if (!facts) throw ApplicationFailure.nonRetryable(`edge ${input.edgeId} does not exist`, EDGE_NOT_FOUND);
        const reason = retentionVerdict(facts);
        const common = {
          paymentId: input.paymentId,
          edgeId: input.edgeId,
          to: input.to,
          rail: await railOf(tx, input.paymentId),
        };
        if (reason === null) {
          const posting = releasePosting({ ...common, cash: input.amounts.cash });
          if (posting) await postTransaction(tx, posting);
          return { status: 'released' };
        }
        const posting = forfeitPosting({ ...common, amounts: input.amounts, reason });
        if (posting) await postTransaction(tx, posting);
        await markPaymentForfeited(tx, input.paymentId, reason);
        return { status: 'forfeited', reason };
      });
    },

    /** Payments that reached an edge that will never price them (expired, voided). */
    async markPaymentsNotEligible(input: { paymentIds: string[]; reason: NotEligibleReason }): Promise<void> {
      await markPaymentsNotEligible(db, input.paymentIds, input.reason);
    },
  };
}
