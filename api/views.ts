// Response shapes (zod, so they are validated and documented) and the mapping from rows to them.
import { z } from 'zod';
import { EDGE_KINDS, EDGE_SOURCES } from '../domain/edge.ts';
import { edgeWorkflowId } from '../contracts/edge-lifecycle.ts';
import { INVITE_FLAVORS } from '../domain/invite-flavors.ts';
import { PAYOUT_FREQUENCIES, PAYOUT_METHODS } from '../domain/partner-settings.ts';
import type { UserRow } from '../db/users.ts';
import type { EdgeRow } from '../db/edges.ts';
import type { InviteCodeRow } from '../db/invite-codes.ts';
import type { PartnerView } from '../services/partners.ts';
import type { Redemption } from '../services/invite-codes.ts';

const iso = (d: Date) => d.toISOString();

export const userView = z.object({
  id: z.uuid(),
  tenantId: z.uuid(),
  email: z.string(),
  referralCode: z.string(),
  status: z.enum(['waitlisted', 'active']),
  createdAt: z.iso.datetime(),
});
export const toUserView = (u: UserRow): z.infer<typeof userView> => ({
  id: u.id,
  tenantId: u.tenant_id,
  email: u.email,
  referralCode: u.referral_code,
  status: u.status,
  createdAt: iso(u.created_at),
});

export const edgeView = z.object({
  id: z.uuid(),
  referrerId: z.uuid(),
  refereeId: z.uuid(),
  kind: z.enum(EDGE_KINDS),
  source: z.enum(EDGE_SOURCES),
  code: z.string().nullable(),
  workflowId: z.string().describe('The Temporal workflow that carries the edge through its lifecycle.'),
  createdAt: z.iso.datetime(),
});
export const toEdgeView = (e: EdgeRow): z.infer<typeof edgeView> => ({
  id: e.id,
  referrerId: e.referrer_id,
  refereeId: e.referee_id,
  kind: e.kind,
  source: e.source,
  code: e.code,
  workflowId: edgeWorkflowId(e.referee_id),
  createdAt: iso(e.created_at),
});

export const inviteCodeView = z.object({
  id: z.uuid(),
  code: z.string(),
  flavor: z.enum(INVITE_FLAVORS),
  ownerUserId: z.uuid().nullable().describe('The referrer a redemption attributes to; null for house codes.'),
  maxUses: z.number().int(),
  uses: z.number().int(),
  credits: z.number().int(),
  expiresAt: z.iso.datetime().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
});
export const toInviteCodeView = (c: InviteCodeRow): z.infer<typeof inviteCodeView> => ({
  id: c.id,
  code: c.code,
  flavor: c.flavor,
  ownerUserId: c.owner_user_id,
  maxUses: c.max_uses,
  uses: c.uses,
  credits: c.credits,
  expiresAt: c.expires_at ? iso(c.expires_at) : null,
  metadata: c.metadata,
  createdAt: iso(c.created_at),
});

export const redemptionView = z.object({
  status: z
    .enum(['redeemed', 'already_set_up'])
    .describe('`already_set_up`: a partner invite redeemed by a tenant that is already a partner; nothing changed.'),
  code: inviteCodeView,
  creditsGranted: z.number().int(),
  edge: edgeView.nullable(),
  attribution: z.enum(['edge_written', 'already_attributed', 'self_referral']).nullable(),
  partnerUpgraded: z.boolean(),
  landingPage: z.string(),
});
export const toRedemptionView = (r: Redemption): z.infer<typeof redemptionView> => ({
  status: r.status,
  code: toInviteCodeView(r.code),
  creditsGranted: r.creditsGranted,
  edge: r.edge && toEdgeView(r.edge),
  attribution: r.attribution,
  partnerUpgraded: r.partnerUpgraded,
  landingPage: r.landingPage,
});

export const partnerView = z.object({
  id: z.uuid().describe("The partner's tenant id."),
  salesCommissionBps: z.number().int(),
  creditCommissionBps: z.number().int(),
  recurring: z.boolean(),
  recurringMonths: z.number().int(),
  referralCode: z.string(),
  affiliateLink: z.string(),
  payoutMethod: z.enum(PAYOUT_METHODS),
  payoutThresholdCents: z.number().int(),
  payoutFrequency: z.enum(PAYOUT_FREQUENCIES),
  stripeAccountId: z.string().nullable(),
  stripeAccountStatus: z.string(),
  status: z.enum(['active', 'inactive']),
  approved: z.boolean(),
  approvedBy: z.string().nullable(),
  approvedAt: z.iso.datetime().nullable(),
  stats: z.object({
    totalReferrals: z.number().int(),
    activeReferrals: z.number().int().describe('Referrals whose referee activated (vested edges).'),
    totalEarningsCents: z
      .number()
      .int()
      .describe('From the ledger: cash commission earned, net of clawbacks, on both rails (ours and Whop).'),
    pendingPayoutCents: z.number().int().describe('Owed by our payout cycles (the Whop rail is never in it).'),
    lifetimePayoutCents: z.number().int().describe('Paid by our payout cycles.'),
    whop: z
      .object({
        earnedCents: z
          .number()
          .int()
          .describe("From the ledger's whop rail (earnings_whop): commission Whop pays, net of its clawbacks."),
      })
      .describe('Earnings on payments made through Whop, which Whop pays its affiliate itself.'),
  }),
});
export const toPartnerView = (p: PartnerView): z.infer<typeof partnerView> => ({
  id: p.tenant_id,
  salesCommissionBps: p.sales_commission_bps,
  creditCommissionBps: p.credit_commission_bps,
  recurring: p.recurring,
  recurringMonths: p.recurring_months,
  referralCode: p.referral_code,
  affiliateLink: p.affiliate_link,
  payoutMethod: p.payout_method,
  payoutThresholdCents: p.payout_threshold_cents,
  payoutFrequency: p.payout_frequency,
  stripeAccountId: p.stripe_account_id,
  stripeAccountStatus: p.stripe_account_status,
  status: p.status,
  approved: p.approved,
  approvedBy: p.approved_by,
  approvedAt: p.approved_at ? iso(p.approved_at) : null,
  stats: p.stats,
});
