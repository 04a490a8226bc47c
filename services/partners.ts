// The partner program: super-admins create partners with sensible defaults and update them
// through the same service; approval records who and when; stats come from the graph and ledger.
import { randomBytes } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { affiliateLink, DEFAULT_PARTNER_TERMS, type PartnerTerms } from '../domain/partner-settings.ts';
import { referralCodeFrom, REFERRAL_CODE_LENGTH } from '../domain/referral-code.ts';
import { tenantReferralStats } from '../db/graph.ts';
import { balanceOf } from '../db/ledger.ts';
import { partnerEarnings, type EarningsStage } from '../domain/ledger-postings.ts';
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

export type PartnerDeps = { db: DatabasePool; publicBaseUrl: string };

export type PartnerView = PartnerRow & {
  affiliate_link: string;
  stats: {
    totalReferrals: number;
    activeReferrals: number;
    totalEarningsCents: number;
    pendingPayoutCents: number;
    lifetimePayoutCents: number;
  };
};

export async function createPartner(
  deps: PartnerDeps,
  input: { tenantId: string } & Partial<PartnerTerms>,
): Promise<PartnerView> {
  const { tenantId, ...terms } = input;
  if (!(await tenantExists(deps.db, tenantId))) throw invalid('tenant_not_found', `No tenant ${tenantId}.`, 'tenantId');
  const row = await insertPartner(
    deps.db,
    tenantId,
    { ...DEFAULT_PARTNER_TERMS, ...terms },
    referralCodeFrom(randomBytes(REFERRAL_CODE_LENGTH)),
    null,
  );
  if (!row) throw conflict('partner_exists', 'This tenant is already a partner; update it instead.', 'tenantId');
  return view(deps, row);
}

export async function changePartner(deps: PartnerDeps, tenantId: string, patch: PartnerPatch): Promise<PartnerView> {
  const row = Object.keys(patch).length
    ? await updatePartner(deps.db, tenantId, patch)
    : await findPartner(deps.db, tenantId);
  if (!row) throw notFound('partner_not_found', `No partner ${tenantId}.`);
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
  const [referrals, pending, payable, paid] = await Promise.all([
    tenantReferralStats(deps.db, row.tenant_id),
    earnings('pending'),
    earnings('payable'),
    earnings('paid'),
  ]);
  return {
    ...row,
    affiliate_link: affiliateLink(deps.publicBaseUrl, row.referral_code),
    stats: {
      totalReferrals: referrals.total,
      activeReferrals: referrals.active,
      // A partner's accounts hold what the partner is owed or was paid: pending (inside the holding
      // period), payable (negative after a clawback) and paid. Earnings net of clawbacks are all three.
      totalEarningsCents: pending + payable + paid,
      pendingPayoutCents: pending + payable,
      lifetimePayoutCents: paid,
    },
  };
}
