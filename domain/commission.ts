// What one payment earns the referrer, and what each refund takes back.
//
// The rule that makes refunds exact: the commission a payment keeps is always
// floor((amount - refunded so far) x rate), so each refund claws back the difference between what
// was kept before and what is kept after it, and a payment refunded in full keeps exactly zero,
// whether the refund came at once or in parts.
import { applyBps, assertMinorUnits } from './money.ts';
import type { EdgeKind, ProgramPhase } from './edge.ts';

export type CommissionTerms = {
  salesBps: number;
  creditBps: number;
  /** null: the first payment only; otherwise payments within this many months of the first one. */
  recurringMonths: number | null;
};

/** Beta auto-enrolled edges: 10% cash on the first payment only, no credits. Configurable 10-15%. */
export const BETA_AUTO_TERMS: CommissionTerms = { salesBps: 1_000, creditBps: 0, recurringMonths: null };
export const BETA_AUTO_BPS_RANGE = { min: 1_000, max: 1_500 } as const;

export type PartnerRates = { salesCommissionBps: number; creditCommissionBps: number; recurring: boolean; recurringMonths: number };

/**
 * The terms an edge earns on, decided where a payment is priced: intentional edges earn their
 * partner's rates in either phase; beta auto-enrolled edges earn nothing in cash until the launch
 * flip, then the beta tier. Null: this edge earns no cash commission now.
 */
export function termsFor(kind: EdgeKind, phase: ProgramPhase, partner: PartnerRates | null, betaAutoBps = BETA_AUTO_TERMS.salesBps): CommissionTerms | null {
  if (kind === 'intentional') {
    if (!partner) return null;
    return { salesBps: partner.salesCommissionBps, creditBps: partner.creditCommissionBps, recurringMonths: partner.recurring ? partner.recurringMonths : null };
  }
  if (phase === 'beta') return null;
  if (betaAutoBps < BETA_AUTO_BPS_RANGE.min || betaAutoBps > BETA_AUTO_BPS_RANGE.max) throw new RangeError(`the beta auto-enrolled rate must be ${BETA_AUTO_BPS_RANGE.min}-${BETA_AUTO_BPS_RANGE.max} bps`);
  return { ...BETA_AUTO_TERMS, salesBps: betaAutoBps };
}

/** Whether a payment at `paidAt` falls in the commission window opened by the first payment. */
export function inCommissionWindow(terms: CommissionTerms, firstPaymentAt: Date, paidAt: Date, isFirstPayment: boolean): boolean {
  if (isFirstPayment) return true;
  if (terms.recurringMonths === null) return false;
  const end = new Date(firstPaymentAt);
  end.setUTCMonth(end.getUTCMonth() + terms.recurringMonths);
  return paidAt.getTime() < end.getTime();
}

export type Earned = { cash: number; credits: number };

/** What a payment keeps after `refunded` of it came back (all integers, floor rule). */
export function keptOn(amount: number, refunded: number, terms: CommissionTerms): Earned {
  assertMinorUnits(amount, 'amount');
  assertMinorUnits(refunded, 'refunded');
  if (refunded > amount) throw new RangeError(`refunded ${refunded} exceeds the payment of ${amount}`);
  const remaining = amount - refunded;
  return { cash: applyBps(remaining, terms.salesBps), credits: applyBps(remaining, terms.creditBps) };
}

/** What a refund of `refund` takes back, given `refundedBefore` already refunded: a non-negative clawback. */
export function clawbackFor(amount: number, refundedBefore: number, refund: number, terms: CommissionTerms): Earned {
  const before = keptOn(amount, refundedBefore, terms);
  const after = keptOn(amount, refundedBefore + refund, terms);
  return { cash: before.cash - after.cash, credits: before.credits - after.credits };
}

/**
 * A purchase by the referrer themself (the same user or the same inbox) earns nothing: a
 * self-purchase must never be net-positive, whatever the rates.
 */
export function isSelfPurchase(referrer: { id: string; inbox: string }, buyer: { id: string; inbox: string }): boolean {
  return referrer.id === buyer.id || referrer.inbox === buyer.inbox;
}
