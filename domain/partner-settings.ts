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

export function affiliateLink(publicBaseUrl: string, referralCode: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/r/${encodeURIComponent(referralCode)}`;
}
