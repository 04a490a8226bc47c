// What one payment earns the referrer, and what each refund takes back.
//
// The rule that makes refunds exact: the commission a payment keeps is always
// floor((amount - refunded so far) x rate), so each refund claws back the difference between what
// was kept before and what is kept after it, and a payment refunded in full keeps exactly zero,
// whether the refund came at once or in parts.
import { applyBps, assertMinorUnits } from './money.ts';
import type { EdgeKind, ProgramPhase } from './edge.ts';
import { cappedRates, DEFAULT_MAX_TOTAL_REWARD_BPS } from './partner-settings.ts';

export type CommissionTerms = {
  salesBps: number;
  creditBps: number;
  /** null: the first payment only; otherwise payments within this many months of the first one. */
  recurringMonths: number | null;
};

/** Beta auto-enrolled edges: 10% cash on the first payment only, no credits. Configurable 10-15%. */
export const BETA_AUTO_TERMS: CommissionTerms = { salesBps: 1_000, creditBps: 0, recurringMonths: null };
export const BETA_AUTO_BPS_RANGE = { min: 1_000, max: 1_500 } as const;

export type PartnerRates = {
  salesCommissionBps: number;
  creditCommissionBps: number;
  recurring: boolean;
  recurringMonths: number;
};

/**
 * The terms an edge earns on, decided where a payment is priced: intentional edges earn their
 * partner's rates in either phase; beta auto-enrolled edges earn nothing in cash until the launch
 * flip, then the beta tier. Null: this edge earns no cash commission now.
 */
export function termsFor(
  kind: EdgeKind,
  phase: ProgramPhase,
  partner: PartnerRates | null,
  betaAutoBps = BETA_AUTO_TERMS.salesBps,
  maxTotalRewardBps = DEFAULT_MAX_TOTAL_REWARD_BPS,
): CommissionTerms | null {
  if (kind === 'intentional') {
    if (!partner) return null;
    // Cash and credits together never exceed the cap, whatever the partner row says.
    const rates = cappedRates(partner, maxTotalRewardBps);
    return {
      salesBps: rates.salesCommissionBps,
      creditBps: rates.creditCommissionBps,
      recurringMonths: partner.recurring ? partner.recurringMonths : null,
    };
  }
  if (phase === 'beta') return null;
  if (betaAutoBps < BETA_AUTO_BPS_RANGE.min || betaAutoBps > BETA_AUTO_BPS_RANGE.max)
    throw new RangeError(
      `the beta auto-enrolled rate must be ${BETA_AUTO_BPS_RANGE.min}-${BETA_AUTO_BPS_RANGE.max} bps`,
    );
  return { ...BETA_AUTO_TERMS, salesBps: betaAutoBps };
}

/** Whether a payment at `paidAt` falls in the commission window opened by the first payment. */
export function inCommissionWindow(
  terms: CommissionTerms,
  firstPaymentAt: Date,
  paidAt: Date,
  isFirstPayment: boolean,
): boolean {
  if (isFirstPayment) return true;
  const end = commissionWindowEnd(terms, firstPaymentAt);
  return end !== null && paidAt.getTime() < end.getTime();
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

/** How commissions are priced and held, from configuration (HOLDING_PERIOD_DAYS, ...). */
export type CommissionSettings = {
  /** Days a commission stays pending (a refund inside it reverses it before it can be paid). */
  holdingPeriodDays: number;
  /** Beta auto-enrolled edges' retention gate: their commission stays pending at least this long. */
  betaRetentionGateDays: number;
  /** The beta auto-enrolled tier, 1,000-1,500 bps. */
  betaAutoBps: number;
  /** A partner's cash and credit rates together are paid at most this (MAX_TOTAL_REWARD_BPS). */
  maxTotalRewardBps: number;
};

export const DEFAULT_COMMISSION_SETTINGS: CommissionSettings = {
  holdingPeriodDays: 30,
  betaRetentionGateDays: 60,
  betaAutoBps: BETA_AUTO_TERMS.salesBps,
  maxTotalRewardBps: DEFAULT_MAX_TOTAL_REWARD_BPS,
};

/** Why a payment earned its referrer nothing. */
export type NotEligibleReason =
  | 'beta_phase' // a beta auto-enrolled edge before the launch flip: beta rewards, no cash
  | 'partner_inactive' // an intentional edge whose partner is no longer approved and active
  | 'self_purchase'
  | 'outside_window' // after the first payment (first-payment-only terms) or past the recurring months
  | 'edge_expired'
  | 'edge_voided'
  | 'zero_commission'; // the rates floor this amount to nothing

export type Pricing =
  | { status: 'earned'; terms: CommissionTerms; earned: Earned; holdDays: number }
  | { status: 'not_eligible'; reason: NotEligibleReason };

/**
 * What one payment earns, decided where it is priced. `firstPaymentAt` is when the edge's first
 * commissionable payment was made (null if this would be the first): it opens the recurring window.
 */
export function pricePayment(p: {
  kind: EdgeKind;
  phase: ProgramPhase;
  partner: PartnerRates | null;
  selfPurchase: boolean;
  amountCents: number;
  paidAt: Date;
  firstPaymentAt: Date | null;
  settings: CommissionSettings;
}): Pricing {
  assertMinorUnits(p.amountCents, 'amount');
  if (p.selfPurchase) return { status: 'not_eligible', reason: 'self_purchase' };
  const terms = termsFor(p.kind, p.phase, p.partner, p.settings.betaAutoBps, p.settings.maxTotalRewardBps);
  if (!terms) return { status: 'not_eligible', reason: p.kind === 'intentional' ? 'partner_inactive' : 'beta_phase' };
  const isFirst = p.firstPaymentAt === null;
  if (!inCommissionWindow(terms, p.firstPaymentAt ?? p.paidAt, p.paidAt, isFirst))
    return { status: 'not_eligible', reason: 'outside_window' };
  const earned = keptOn(p.amountCents, 0, terms);
  if (earned.cash === 0 && earned.credits === 0) return { status: 'not_eligible', reason: 'zero_commission' };
  const holdDays =
    p.kind === 'beta_auto'
      ? Math.max(p.settings.holdingPeriodDays, p.settings.betaRetentionGateDays)
      : p.settings.holdingPeriodDays;
  return { status: 'earned', terms, earned, holdDays };
}

/** When the commission window opened by the first payment closes; null: it closed with that payment. */
export function commissionWindowEnd(terms: CommissionTerms, firstPaymentAt: Date): Date | null {
  if (terms.recurringMonths === null) return null;
  const end = new Date(firstPaymentAt);
  end.setUTCMonth(end.getUTCMonth() + terms.recurringMonths);
  return end;
}
