// Partner settings: sensible defaults for a new partner and the bounds every update must keep.

export const PAYOUT_METHODS = ['stripe', 'paypal', 'bank_transfer', 'manual'] as const;
export const PAYOUT_FREQUENCIES = ['weekly', 'biweekly', 'monthly', 'quarterly'] as const;
export type PayoutMethod = (typeof PAYOUT_METHODS)[number];
export type PayoutFrequency = (typeof PAYOUT_FREQUENCIES)[number];

export const MAX_BPS = 10_000;
export const MAX_RECURRING_MONTHS = 120;

export type PartnerTerms = {
  salesCommissionBps: number;
  creditCommissionBps: number;
  recurring: boolean;
  recurringMonths: number;
  payoutMethod: PayoutMethod;
  payoutThresholdCents: number;
  payoutFrequency: PayoutFrequency;
};

/** An intentional affiliate: 20% of sales and 5% in credits, recurring for a year, paid monthly over $50. */
export const DEFAULT_PARTNER_TERMS: PartnerTerms = {
  salesCommissionBps: 2_000,
  creditCommissionBps: 500,
  recurring: true,
  recurringMonths: 12,
  payoutMethod: 'stripe',
  payoutThresholdCents: 5_000,
  payoutFrequency: 'monthly',
};

/**
 * The most a partner's cash and credit rates may add up to (MAX_TOTAL_REWARD_BPS): 50% by default.
 * A credit is worth a cent at retail, so a buyer who buys through their own partner code under
 * another email gets back at most this share of what they paid: never more than they paid.
 */
export const DEFAULT_MAX_TOTAL_REWARD_BPS = 5_000;

export type RewardRates = { salesCommissionBps: number; creditCommissionBps: number };

/** Whether cash and credit rates together stay within the cap. */
export function withinRewardCap(rates: RewardRates, capBps: number): boolean {
  return rates.salesCommissionBps + rates.creditCommissionBps <= capBps;
}

/**
 * Rates as pricing applies them: a row over the cap (written before the cap, or under a higher cap
 * since lowered) is paid as if its credit rate were cut first, then its cash rate, to fit.
 */
export function cappedRates(rates: RewardRates, capBps: number): RewardRates {
  const sales = Math.min(rates.salesCommissionBps, capBps);
  return { salesCommissionBps: sales, creditCommissionBps: Math.min(rates.creditCommissionBps, capBps - sales) };
}

export function affiliateLink(publicBaseUrl: string, referralCode: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/r/${encodeURIComponent(referralCode)}`;
}
