// The money side effects of an edge's workflow, each one ledger transaction idempotent by its
// business key (commission:<paymentId>, release:<paymentId>, clawback:<refundId>, void:<paymentId>).
// The workflow decides the amounts from its own state; pricing alone reads PostgreSQL, because the
// phase and the partner's rates are facts of the moment the payment is priced.
import type { DatabasePool } from 'slonik';
import { pricePayment, type CommissionSettings, type CommissionTerms, type Earned, type NotEligibleReason } from '../domain/commission.ts';
import { clawbackPosting, commissionPosting, releasePosting, type Amounts, type Beneficiary } from '../domain/ledger-postings.ts';
import { postTransaction } from '../db/ledger.ts';
import { lockPaymentPricing, markPaymentsNotEligible, pricingContext, recordPaymentPricing } from '../db/payments.ts';

export type PricedCommission =
  | { status: 'earned'; terms: CommissionTerms; earned: Earned; holdDays: number; beneficiary: Beneficiary }
  | { status: 'not_eligible'; reason: NotEligibleReason };

export type PriceCommissionInput = { edgeId: string; paymentId: string; amountCents: number; paidAt: string; firstPaymentAt: string | null };

export type CommissionActivities = ReturnType<typeof createCommissionActivities>;

export function createCommissionActivities({ db, settings }: { db: DatabasePool; settings: CommissionSettings }) {
  return {
    /**
     * Prices a payment and posts its commission, in one PostgreSQL transaction. A payment is priced
     * once: a retry (after a crash, say) answers the pricing already recorded, even if the phase or
     * the partner's rates changed since, so the workflow and the ledger never disagree.
     */
    async priceCommission(input: PriceCommissionInput): Promise<PricedCommission> {
      return db.transaction(async (tx) => {
        const existing = await lockPaymentPricing(tx, input.paymentId);
        if (!existing.found) throw new Error(`payment ${input.paymentId} is not recorded`);
        if (existing.pricing) return existing.pricing as PricedCommission;
        const context = await pricingContext(tx, input.edgeId);
        if (!context) throw new Error(`edge ${input.edgeId} does not exist`);
        const partner = context.partner_usable
          ? { salesCommissionBps: context.sales_commission_bps!, creditCommissionBps: context.credit_commission_bps!, recurring: context.recurring!, recurringMonths: context.recurring_months! }
          : null;
        const pricing = pricePayment({
          kind: context.kind,
          phase: context.phase,
          partner,
          selfPurchase: context.self_purchase,
          amountCents: input.amountCents,
          paidAt: new Date(input.paidAt),
          firstPaymentAt: input.firstPaymentAt ? new Date(input.firstPaymentAt) : null,
          settings,
        });
        const priced: PricedCommission = pricing.status === 'earned'
          ? { ...pricing, beneficiary: { tenantId: context.referrer_tenant_id, referrerUserId: context.referrer_id } }
          : pricing;
        if (priced.status === 'earned') {
          const posting = commissionPosting({ paymentId: input.paymentId, edgeId: input.edgeId, to: priced.beneficiary, earned: priced.earned });
          if (posting) await postTransaction(tx, posting);
        }
        await recordPaymentPricing(tx, input.paymentId, priced);
        return priced;
      });
    },

    /** Commission past its holding period becomes payable. */
    async releaseCommission(input: { paymentId: string; edgeId: string; to: Beneficiary; cash: number }): Promise<void> {
      const posting = releasePosting(input);
      if (posting) await postTransaction(db, posting);
    },

    /** Takes back what a refund (clawback:<refundId>) or a void (void:<paymentId>) reverses. */
    async clawBackCommission(input: { key: string; kind: 'clawback' | 'void'; paymentId: string; edgeId: string; to: Beneficiary; amounts: Amounts; released: boolean }): Promise<void> {
      const posting = clawbackPosting(input);
      if (posting) await postTransaction(db, posting);
    },

    /** Payments that reached an edge that will never price them (expired, voided). */
    async markPaymentsNotEligible(input: { paymentIds: string[]; reason: NotEligibleReason }): Promise<void> {
      await markPaymentsNotEligible(db, input.paymentIds, input.reason);
    },
  };
}
