// What an edge has earned its referrer, payment by payment, as its workflow keeps it. Each change
// answers what to post to the ledger and the earnings after it: the workflow posts first and keeps
// the new earnings only once the ledger has them, so its totals never run ahead of the ledger.
//
// What holds after any sequence of changes: pending + payable is the cash the payments still keep
// (keptOn), cash is that too, and credits are the credits they keep; a payment refunded in full
// keeps zero, and so does a commission forfeited at its retention gate.
import { DAY_MS } from './time.ts';
import { clawbackFor, keptOn, type CommissionTerms, type Earned } from './commission.ts';
import type { Beneficiary } from './ledger-postings.ts';
import { REFUND_WINDOW_DAYS } from './lifecycle.ts';

/** A payment this edge has priced, and what has happened to its commission since. */
export type PricedPayment = {
  paymentId: string;
  amountCents: number;
  refundedCents: number;
  /** Null: the payment earned nothing (refunds of it have nothing to take back). */
  terms: CommissionTerms | null;
  beneficiary: Beneficiary | null;
  /** When its commission becomes payable; null once released (or when it earned nothing). */
  releaseAt: string | null;
  released: boolean;
  /**
   * Set when a beta-seeded commission failed its retention gate: what it kept went back, it is
   * never released, and refunds or a void of it have nothing left to take. (Absent in state carried
   * from runs before the gate existed.)
   */
  forfeited?: ForfeitReason;
};

/**
 * Why a beta-seeded commission was forfeited at its retention gate: by then its referee had
 * cancelled, refunded or charged back (any of their payments).
 */
export const FORFEIT_REASONS = ['referee_cancelled', 'referee_charged_back', 'referee_refunded'] as const;
export type ForfeitReason = (typeof FORFEIT_REASONS)[number];

/** What the referee did by the gate, as PostgreSQL recorded it. */
export type RetentionFacts = { cancelled: boolean; chargedBack: boolean; refunded: boolean };

/** Retained (null) only if the referee neither cancelled, nor charged back, nor refunded by the gate. */
export function retentionVerdict(f: RetentionFacts): ForfeitReason | null {
  if (f.cancelled) return 'referee_cancelled';
  if (f.chargedBack) return 'referee_charged_back';
  if (f.refunded) return 'referee_refunded';
  return null;
}

export type EarnedTotals = { cashCents: number; credits: number; pendingCents: number; payableCents: number };

/** Carried across continue-as-new as two fields of the workflow's state, so their shape is fixed. */
export type EdgeEarnings = { priced: Record<string, PricedPayment>; earned: EarnedTotals };

/** What pricing decided a payment earns; null when it earns nothing. */
export type Commission = { terms: CommissionTerms; earned: Earned; holdDays: number; beneficiary: Beneficiary };

/** Commission taken back: by a refund (`clawback:<refundId>`) or a void (`void:<paymentId>`). */
export type Clawback = {
  key: string;
  kind: 'clawback' | 'void';
  paymentId: string;
  to: Beneficiary;
  amounts: Earned;
  released: boolean;
};
export type Release = { paymentId: string; to: Beneficiary; cash: number };
/** A commission forfeited at its gate: what it still keeps goes back from pending (`forfeit:<paymentId>`). */
export type Forfeit = { paymentId: string; to: Beneficiary; amounts: Earned; reason: ForfeitReason };

export const NO_EARNINGS: EarnedTotals = { cashCents: 0, credits: 0, pendingCents: 0, payableCents: 0 };

const withPayment = (e: EdgeEarnings, p: PricedPayment, earned: EarnedTotals): EdgeEarnings => ({
  priced: { ...e.priced, [p.paymentId]: p },
  earned,
});

/** Cash taken back comes out of whichever account the commission sits in now. */
function takeBack(earned: EarnedTotals, amounts: Earned, released: boolean): EarnedTotals {
  return {
    cashCents: earned.cashCents - amounts.cash,
    credits: earned.credits - amounts.credits,
    pendingCents: released ? earned.pendingCents : earned.pendingCents - amounts.cash,
    payableCents: released ? earned.payableCents - amounts.cash : earned.payableCents,
  };
}

/** A priced payment; its commission is pending until `now` + its holding days. */
export function recordPricedPayment(
  e: EdgeEarnings,
  payment: { paymentId: string; amountCents: number },
  commission: Commission | null,
  now: number,
): EdgeEarnings {
  const base = { paymentId: payment.paymentId, amountCents: payment.amountCents, refundedCents: 0, released: false };
  if (commission === null)
    return withPayment(e, { ...base, terms: null, beneficiary: null, releaseAt: null }, e.earned);
  const { terms, beneficiary, earned, holdDays } = commission;
  const releaseAt = new Date(now + holdDays * DAY_MS).toISOString();
  return withPayment(
    e,
    { ...base, terms, beneficiary, releaseAt },
    {
      ...e.earned,
      cashCents: e.earned.cashCents + earned.cash,
      credits: e.earned.credits + earned.credits,
      pendingCents: e.earned.pendingCents + earned.cash,
    },
  );
}

/**
 * A refund of a priced payment: null while its payment is not priced yet (the refund waits for it).
 * The API never accepts more refund than payment; a refund that would exceed it changes nothing.
 */
export function applyRefund(
  e: EdgeEarnings,
  refund: { refundId: string; paymentId: string; amountCents: number },
): { post: Clawback | null; next: EdgeEarnings } | null {
  const p = e.priced[refund.paymentId];
  if (!p) return null;
  if (p.refundedCents + refund.amountCents > p.amountCents) return { post: null, next: e };
  const refunded = { ...p, refundedCents: p.refundedCents + refund.amountCents };
  if (!p.terms || !p.beneficiary || p.forfeited) return { post: null, next: withPayment(e, refunded, e.earned) };
  const amounts = clawbackFor(p.amountCents, p.refundedCents, refund.amountCents, p.terms);
  const post: Clawback = {
    key: `clawback:${refund.refundId}`,
    kind: 'clawback',
    paymentId: p.paymentId,
    to: p.beneficiary,
    amounts,
    released: p.released,
  };
  return { post, next: withPayment(e, refunded, takeBack(e.earned, amounts, p.released)) };
}

/** A payment's commission past its holding period becomes payable; null while it is not due. */
export function release(e: EdgeEarnings, paymentId: string, now: number): { post: Release; next: EdgeEarnings } | null {
  const p = e.priced[paymentId];
  if (!p || p.releaseAt === null || new Date(p.releaseAt).getTime() > now || !p.terms || !p.beneficiary) return null;
  const cash = keptOn(p.amountCents, p.refundedCents, p.terms).cash;
  const earned = {
    ...e.earned,
    pendingCents: e.earned.pendingCents - cash,
    payableCents: e.earned.payableCents + cash,
  };
  return {
    post: { paymentId, to: p.beneficiary, cash },
    next: withPayment(e, { ...p, releaseAt: null, released: true }, earned),
  };
}

/**
 * A beta-seeded commission at its retention gate (its release, due now): the gate is when it was due
 * (a hold may have delayed the check, never the moment checked), and what it keeps is released or
 * forfeited whole. Null while it is not due.
 */
export type GateCheck = { paymentId: string; to: Beneficiary; amounts: Earned; gateAt: string };
export function atGate(e: EdgeEarnings, paymentId: string, now: number): GateCheck | null {
  const p = e.priced[paymentId];
  if (!p || p.releaseAt === null || new Date(p.releaseAt).getTime() > now || !p.terms || !p.beneficiary) return null;
  if (p.forfeited) return null;
  return {
    paymentId,
    to: p.beneficiary,
    amounts: keptOn(p.amountCents, p.refundedCents, p.terms),
    gateAt: p.releaseAt,
  };
}

/**
 * A beta-seeded commission whose gate found its referee gone (cancelled, refunded, charged back):
 * what it still keeps goes back from pending, and it is never released. Null unless it is waiting
 * for its release.
 */
export function forfeit(
  e: EdgeEarnings,
  paymentId: string,
  reason: ForfeitReason,
): { post: Forfeit; next: EdgeEarnings } | null {
  const p = e.priced[paymentId];
  if (!p || p.releaseAt === null || p.released || p.forfeited || !p.terms || !p.beneficiary) return null;
  const amounts = keptOn(p.amountCents, p.refundedCents, p.terms);
  return {
    post: { paymentId, to: p.beneficiary, amounts, reason },
    next: withPayment(e, { ...p, releaseAt: null, forfeited: reason }, takeBack(e.earned, amounts, false)),
  };
}

/** Void under the terms: every payment gives back what it still keeps, and nothing is released any more. */
export function voidAll(e: EdgeEarnings): { posts: Clawback[]; next: EdgeEarnings } {
  const posts: Clawback[] = [];
  let next = e;
  for (const p of Object.values(e.priced)) {
    if (!p.terms || !p.beneficiary || p.forfeited) continue;
    const amounts = keptOn(p.amountCents, p.refundedCents, p.terms);
    posts.push({
      key: `void:${p.paymentId}`,
      kind: 'void',
      paymentId: p.paymentId,
      to: p.beneficiary,
      amounts,
      released: p.released,
    });
    next = withPayment(next, { ...p, releaseAt: null }, takeBack(next.earned, amounts, p.released));
  }
  return { posts, next };
}

/** Commissions still waiting for their release, in the order they were priced. */
export function pendingReleases(e: EdgeEarnings): { paymentId: string; at: number }[] {
  return Object.values(e.priced).flatMap((p) =>
    p.releaseAt === null ? [] : [{ paymentId: p.paymentId, at: new Date(p.releaseAt).getTime() }],
  );
}

/**
 * An edge closes once the refund window after its last earning payment has passed and every commission was released;
 * null: it never earned.
 */
export function closesAt(e: EdgeEarnings, lastEarningAt: string | null): number | null {
  if (lastEarningAt === null) return null;
  return Math.max(Date.parse(lastEarningAt) + REFUND_WINDOW_DAYS * DAY_MS, ...pendingReleases(e).map((r) => r.at));
}
