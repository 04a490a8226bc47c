// What a refund takes back when its payment's edge workflow has already ended: the rule is the
// edge's own (a payment keeps floor((amount - refunded so far) x rate), PRODUCT.md), applied to
// what the ledger says the payment keeps now rather than to the workflow's memory of it.
//
// Reading the ledger makes the late path safe beside the edge's own: whatever order refunds were
// taken back in, by the edge or late, a payment never keeps less than floor((amount - all its
// refunds) x rate) nor gives back more than it keeps, and once every refund is handled it keeps
// exactly that. The caller reads and posts under the payment's lock, one refund at a time.
import { keptOn, type CommissionTerms, type Earned } from './commission.ts';

/** The ledger key of a refund's clawback, on either path: a refund is taken back once. */
export const refundClawbackKey = (refundId: string) => `clawback:${refundId}`;

export type LateRefundFacts = {
  amountCents: number;
  /** Every refund of the payment recorded so far, this one included. */
  refundedCents: number;
  /** The terms the payment was priced on; null: it earned nothing. */
  terms: CommissionTerms | null;
  /** What the payment keeps now, from the ledger: its commission net of clawbacks and voids. */
  kept: Earned;
};

export const NOTHING: Earned = { cash: 0, credits: 0 };

/** What to take back so the payment keeps what its refunds leave it: never negative, never more than it keeps. */
export function lateClawback(f: LateRefundFacts): Earned {
  if (!f.terms) return NOTHING;
  const left = keptOn(f.amountCents, Math.min(f.refundedCents, f.amountCents), f.terms);
  return { cash: Math.max(0, f.kept.cash - left.cash), credits: Math.max(0, f.kept.credits - left.credits) };
}
