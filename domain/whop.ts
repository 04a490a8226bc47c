// Pure rules of the Whop rail: whether a buyer's checkout carries their referrer's affiliate code,
// the override terms an edge's tier gives Whop, which of our users a Whop payment or refund is
// (metadata first, then the checkout configuration, then the membership for renewals), and what
// a Whop dispute means for the money.
import { commissionWindowEnd, type CommissionTerms } from './commission.ts';

/** Why a checkout carries no affiliate code. */
export type NoCodeReason = 'no_edge' | 'edge_held' | 'edge_voided' | 'not_eligible' | 'no_username';

/** What the checkout decides from the buyer's edge (null: no edge). */
export function checkoutAttribution(
  edge: { held: boolean; voided: boolean; terms: CommissionTerms | null } | null,
): { attributed: true; terms: CommissionTerms } | { attributed: false; reason: NoCodeReason } {
  if (!edge) return { attributed: false, reason: 'no_edge' };
  if (edge.voided) return { attributed: false, reason: 'edge_voided' };
  if (edge.held) return { attributed: false, reason: 'edge_held' };
  if (!edge.terms || edge.terms.salesBps <= 0) return { attributed: false, reason: 'not_eligible' };
  return { attributed: true, terms: edge.terms };
}

export type OverrideTerms = { percent: number; appliesTo: 'first_payment' | 'all_payments' };

/**
 * The override Whop gets for an edge's terms: the cash rate as a percentage (Whop's 1-100), on the
 * first payment when our terms pay only the first one (beta auto-enrolled edges), all payments
 * otherwise. Whop has no "N months": our ledger prices by our window, and the reconciliation flags
 * any affiliate fee Whop paid beyond what we priced.
 */
export function overrideTerms(terms: CommissionTerms): OverrideTerms {
  const percent = Math.min(100, Math.max(1, terms.salesBps / 100));
  return { percent, appliesTo: terms.recurringMonths === null ? 'first_payment' : 'all_payments' };
}

/** The keys our checkout writes into Whop's metadata (strings, as Whop stores them). */
export const METADATA_KEYS = { buyer: 'rg_buyer_id', edge: 'rg_edge_id', checkout: 'rg_checkout_id' } as const;

export function checkoutMetadata(m: {
  buyerId: string;
  edgeId: string | null;
  checkoutId: string;
}): Record<string, string> {
  return {
    [METADATA_KEYS.buyer]: m.buyerId,
    [METADATA_KEYS.checkout]: m.checkoutId,
    ...(m.edgeId ? { [METADATA_KEYS.edge]: m.edgeId } : {}),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The buyer our metadata names, if it names one (a uuid). */
export function buyerOfMetadata(metadata: Record<string, unknown>): string | null {
  const v = metadata[METADATA_KEYS.buyer];
  return typeof v === 'string' && UUID.test(v) ? v.toLowerCase() : null;
}

/** Whop dispute statuses that mean the payer won: the money went back (a chargeback on our side). */
export const DISPUTE_LOST_STATUSES = ['lost'] as const;
export const isDisputeLost = (status: unknown): boolean =>
  typeof status === 'string' && (DISPUTE_LOST_STATUSES as readonly string[]).includes(status);

/** An edge behind a recurring override: its first earning payment and its window's months (null: none yet). */
export type OverrideEdge = { firstEarnedAt: Date | null; recurringMonths: number | null; voided: boolean };

/**
 * Whether a recurring (all payments) override still has an edge whose window is open: one not yet
 * paid (its first payment opens the window) or paid within its window. Whop has no "N months", so
 * once every window behind it has closed, the override goes back to the first payment only (a later
 * referee's checkout brings it back to all payments).
 */
export function overrideWindowOpen(edges: readonly OverrideEdge[], now: Date): boolean {
  return edges.some((e) => {
    if (e.voided) return false;
    if (e.firstEarnedAt === null) return true;
    const end = commissionWindowEnd({ salesBps: 0, creditBps: 0, recurringMonths: e.recurringMonths }, e.firstEarnedAt);
    return end !== null && end.getTime() > now.getTime();
  });
}
