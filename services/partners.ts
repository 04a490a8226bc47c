// The partner program: super-admins create partners with sensible defaults and update them
// through the same service; approval records who and when; stats come from the graph and ledger.
import { randomBytes } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import {
  affiliateLink,
  DEFAULT_MAX_TOTAL_REWARD_BPS,
  DEFAULT_PARTNER_TERMS,
  withinRewardCap,
  type PartnerTerms,
  type RewardRates,
} from '../domain/partner-settings.ts';
import { referralCodeFrom, REFERRAL_CODE_LENGTH } from '../domain/referral-code.ts';
import { tenantReferralStats } from '../db/graph.ts';
import { balanceOf } from '../db/ledger.ts';
import { partnerEarnings, partnerWhopEarnings, type EarningsStage } from '../domain/ledger-postings.ts';
import {
  approvePartner,
  findPartner,
  insertPartner,
  tenantExists,
  updatePartner,
  type PartnerPatch,
  type PartnerRow,
} from '../db/partners.ts';
import { conflict, invalid, notFound } from './errors.ts';

export type PartnerDeps = {
  db: DatabasePool;
  publicBaseUrl: string;
  /** MAX_TOTAL_REWARD_BPS: cash and credit rates together at most this; the default when left out. */
  maxTotalRewardBps?: number;
};

const capOf = (deps: PartnerDeps) => deps.maxTotalRewardBps ?? DEFAULT_MAX_TOTAL_REWARD_BPS;

/** A 400 naming both rates: together they may not pass the cap. */
function overCap(rates: RewardRates, cap: number, given: Partial<RewardRates>) {
  return invalid(
    'reward_rates_over_cap',
    `salesCommissionBps (${rates.salesCommissionBps}) and creditCommissionBps (${rates.creditCommissionBps}) add up to ${rates.salesCommissionBps + rates.creditCommissionBps} bps; together they may be at most ${cap} bps (MAX_TOTAL_REWARD_BPS).`,
    given.creditCommissionBps !== undefined && given.salesCommissionBps === undefined
      ? 'creditCommissionBps'
      : 'salesCommissionBps',
  );
}

export type PartnerView = PartnerRow & {
  affiliate_link: string;
  stats: {
    totalReferrals: number;
    activeReferrals: number;
    totalEarningsCents: number;
    pendingPayoutCents: number;
    lifetimePayoutCents: number;
    /** The whop rail: commission Whop pays the partner's affiliate itself, mirrored in the ledger. */
    whop: { earnedCents: number };
  };
};

export async function createPartner(
  deps: PartnerDeps,
  input: { tenantId: string } & Partial<PartnerTerms>,
): Promise<PartnerView> {
  const { tenantId, ...given } = input;
  const terms = { ...DEFAULT_PARTNER_TERMS, ...given };
  if (!withinRewardCap(terms, capOf(deps))) throw overCap(terms, capOf(deps), given);
  if (!(await tenantExists(deps.db, tenantId))) throw invalid('tenant_not_found', `No tenant ${tenantId}.`, 'tenantId');
  const row = await insertPartner(deps.db, tenantId, terms, referralCodeFrom(randomBytes(REFERRAL_CODE_LENGTH)), null);
  if (!row) throw conflict('partner_exists', 'This tenant is already a partner; update it instead.', 'tenantId');
  return view(deps, row);
}

/**
 * A patch that changes a rate is refused (400, nothing changed) when cash and credits would then add
 * up to more than the cap; one that leaves the rates alone goes through whatever they are.
 */
export async function changePartner(deps: PartnerDeps, tenantId: string, patch: PartnerPatch): Promise<PartnerView> {
  const touchesRates = patch.salesCommissionBps !== undefined || patch.creditCommissionBps !== undefined;
  const cap = capOf(deps);
  const row = Object.keys(patch).length
    ? await updatePartner(deps.db, tenantId, patch, touchesRates ? cap : null)
    : await findPartner(deps.db, tenantId);
  if (!row) {
    const current = touchesRates ? await findPartner(deps.db, tenantId) : null;
    if (!current) throw notFound('partner_not_found', `No partner ${tenantId}.`);
    const rates = {
      salesCommissionBps: patch.salesCommissionBps ?? current.sales_commission_bps,
      creditCommissionBps: patch.creditCommissionBps ?? current.credit_commission_bps,
    };
    throw overCap(rates, cap, patch);
  }
  return view(deps, row);
}

export async function approve(deps: PartnerDeps, tenantId: string, approvedBy: string): Promise<PartnerView> {
  const row = await approvePartner(deps.db, tenantId, approvedBy);
  if (!row) throw notFound('partner_not_found', `No partner ${tenantId}.`);
  return view(deps, row);
}

export async function getPartner(deps: PartnerDeps, tenantId: string): Promise<PartnerView> {
  const row = await findPartner(deps.db, tenantId);
  if (!row) throw notFound('partner_not_found', `No partner ${tenantId}.`);
  return view(deps, row);
}

/** Every money figure is a ledger balance (zero until commissions are posted to it). */
async function view(deps: PartnerDeps, row: PartnerRow): Promise<PartnerView> {
  const earnings = (stage: EarningsStage) => balanceOf(deps.db, partnerEarnings(row.tenant_id, stage));
  const [referrals, pending, payable, paid, whop] = await Promise.all([
    tenantReferralStats(deps.db, row.tenant_id),
    earnings('pending'),
    earnings('payable'),
    earnings('paid'),
    balanceOf(deps.db, partnerWhopEarnings(row.tenant_id)),
  ]);
  return {
    ...row,
    affiliate_link: affiliateLink(deps.publicBaseUrl, row.referral_code),
    stats: {
      totalReferrals: referrals.total,
      activeReferrals: referrals.active,
      // A partner's accounts hold what the partner is owed or was paid: pending (inside the holding
      // period), payable (negative after a clawback) and paid; what Whop pays is on earnings_whop,
      // never in our payouts. Earnings net of clawbacks are all four.
      totalEarningsCents: pending + payable + paid + whop,
      pendingPayoutCents: pending + payable,
      lifetimePayoutCents: paid,
      whop: { earnedCents: whop },
    },
  };
}
