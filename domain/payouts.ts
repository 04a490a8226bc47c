// Who a payout cycle pays and how much: pure rules over one partner's snapshot.
import type { PayoutFrequency, PayoutMethod } from './partner-settings.ts';

/** The period a date falls in for a payout frequency: a partner is paid at most once per period. */
export function periodOf(frequency: PayoutFrequency, at: Date): string {
  const year = at.getUTCFullYear();
  if (frequency === 'monthly') return `${year}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
  if (frequency === 'quarterly') return `${year}-Q${Math.floor(at.getUTCMonth() / 3) + 1}`;
  const { isoYear, week } = isoWeek(at);
  if (frequency === 'weekly') return `${isoYear}-W${String(week).padStart(2, '0')}`;
  return `${isoYear}-B${String(Math.floor((week - 1) / 2) + 1).padStart(2, '0')}`;
}

/** The period each frequency is in at `at`: what a cycle over those frequencies pays for. */
export function periodsOf(frequencies: readonly PayoutFrequency[], at: Date): Partial<Record<PayoutFrequency, string>> {
  return Object.fromEntries(frequencies.map((f) => [f, periodOf(f, at)]));
}

function isoWeek(at: Date): { isoYear: number; week: number } {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const day = d.getUTCDay() || 7; // Monday 1 .. Sunday 7
  d.setUTCDate(d.getUTCDate() + 4 - day); // the Thursday of this week decides its year
  const isoYear = d.getUTCFullYear();
  const week = Math.ceil(((d.getTime() - Date.UTC(isoYear, 0, 1)) / 86_400_000 + 1) / 7);
  return { isoYear, week };
}

export const payoutId = (tenantId: string, period: string) => `${tenantId}:${period}`;

export type PartnerPayoutSnapshot = {
  method: PayoutMethod;
  thresholdCents: number;
  /** The partner's payable balance in the ledger (negative after a clawback). */
  payableCents: number;
  /** Payouts of earlier periods still on their way (not yet moved to paid in the ledger). */
  inFlightCents: number;
  stripeAccountId: string | null;
  stripeAccountStatus: string;
  /** This period's payout, if a cycle already made one. */
  thisPeriod: { status: 'processing' | 'awaiting_manual' | 'paid' | 'failed' } | null;
};

export type RollForwardReason = 'below_threshold' | 'nothing_payable' | 'negative_balance';
export type SkipReason =
  | 'already_paid_this_period'
  | 'awaiting_manual_payment'
  | 'failed_this_period'
  | 'stripe_account_missing'
  | 'stripe_account_not_payouts_enabled';

export type PayoutDecision =
  | { action: 'pay'; amountCents: number; rail: 'stripe' | 'manual' }
  | { action: 'resume' }
  | { action: 'roll_forward'; reason: RollForwardReason; availableCents: number }
  | { action: 'skip'; reason: SkipReason; availableCents: number };

/**
 * A partner due this period is paid its whole available balance (payable minus what is already on
 * its way) when that reaches its threshold and its rail can receive; a negative balance is never
 * paid (later earnings net it off); anything else rolls forward or is skipped with the reason.
 */
export function decidePayout(p: PartnerPayoutSnapshot): PayoutDecision {
  const availableCents = p.payableCents - p.inFlightCents;
  if (p.thisPeriod?.status === 'processing') return { action: 'resume' };
  if (p.thisPeriod?.status === 'paid') return { action: 'skip', reason: 'already_paid_this_period', availableCents };
  if (p.thisPeriod?.status === 'awaiting_manual')
    return { action: 'skip', reason: 'awaiting_manual_payment', availableCents };
  if (p.thisPeriod?.status === 'failed') return { action: 'skip', reason: 'failed_this_period', availableCents };
  if (availableCents < 0) return { action: 'roll_forward', reason: 'negative_balance', availableCents };
  if (availableCents === 0) return { action: 'roll_forward', reason: 'nothing_payable', availableCents };
  if (availableCents < p.thresholdCents) return { action: 'roll_forward', reason: 'below_threshold', availableCents };
  if (p.method === 'stripe') {
    if (!p.stripeAccountId) return { action: 'skip', reason: 'stripe_account_missing', availableCents };
    if (p.stripeAccountStatus !== 'enabled')
      return { action: 'skip', reason: 'stripe_account_not_payouts_enabled', availableCents };
    return { action: 'pay', amountCents: availableCents, rail: 'stripe' };
  }
  return { action: 'pay', amountCents: availableCents, rail: 'manual' };
}

/** Stripe refusal codes that no retry can fix: the payout fails, the balance stays payable. */
const PERMANENT = new Set([
  'balance_insufficient',
  'insufficient_funds',
  'account_invalid',
  'transfers_not_allowed',
  'payouts_not_allowed',
  'resource_missing',
]);

/** The fields of a Stripe SDK error the rule reads. */
export type TransferFailure = { code?: string; rawType?: string; message?: string; statusCode?: number };

/**
 * What Stripe's answer means for one transfer: refused for this payout (the code recorded on it),
 * refused for every payout (our key or its permissions), or transient (429 after the SDK's
 * retries, 5xx, network), which a retry of the page can fix.
 */
export function classifyTransferFailure(
  e: TransferFailure,
): { refused: string } | { credentials: true } | { transient: true } {
  if (e.code && PERMANENT.has(e.code)) return { refused: e.code };
  if (e.statusCode === 401 || e.statusCode === 403) return { credentials: true };
  // An invalid request stays invalid however often it is sent; Stripe answers some rate limits as 400.
  if ((e.statusCode === 400 || e.statusCode === 404) && e.code !== 'rate_limit')
    return { refused: e.code ?? e.rawType ?? 'invalid_request_error' };
  return { transient: true };
}
