// Partner settings per tenant, and the tenant upgrade a partner invite performs.
import { sql } from 'slonik';
import { z } from 'zod';
import { PAYOUT_FREQUENCIES, PAYOUT_METHODS, type PartnerTerms } from '../domain/partner-settings.ts';
import type { Db } from './pool.ts';

export const partnerRow = z.object({
  tenant_id: z.uuid(),
  sales_commission_bps: z.number(),
  credit_commission_bps: z.number(),
  recurring: z.boolean(),
  recurring_months: z.number(),
  referral_code: z.string(),
  payout_method: z.enum(PAYOUT_METHODS),
  payout_threshold_cents: z.number(),
  payout_frequency: z.enum(PAYOUT_FREQUENCIES),
  stripe_account_id: z.string().nullable(),
  stripe_account_status: z.string(),
  status: z.enum(['active', 'inactive']),
  approved: z.boolean(),
  approved_by: z.string().nullable(),
  approved_at: z.date().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
});
export type PartnerRow = z.infer<typeof partnerRow>;

const columns = sql.fragment`tenant_id, sales_commission_bps, credit_commission_bps, recurring, recurring_months, referral_code, payout_method,
  payout_threshold_cents, payout_frequency, stripe_account_id, stripe_account_status, status, approved, approved_by, approved_at, created_at, updated_at`;

export async function findPartner(db: Db, tenantId: string): Promise<PartnerRow | null> {
  return db.maybeOne(sql.type(partnerRow)`SELECT ${columns} FROM partners WHERE tenant_id = ${tenantId}`);
}

export async function tenantExists(db: Db, tenantId: string): Promise<boolean> {
  return db.exists(sql.unsafe`SELECT 1 FROM tenants WHERE id = ${tenantId}`);
}

/** Creates the settings row; null when the tenant already has one. */
export async function insertPartner(
  db: Db,
  tenantId: string,
  terms: PartnerTerms,
  referralCode: string,
  approval: { by: string; at: Date } | null,
): Promise<PartnerRow | null> {
  return db.maybeOne(sql.type(partnerRow)`
    INSERT INTO partners (tenant_id, sales_commission_bps, credit_commission_bps, recurring, recurring_months, referral_code,
                          payout_method, payout_threshold_cents, payout_frequency, approved, approved_by, approved_at)
    VALUES (${tenantId}, ${terms.salesCommissionBps}, ${terms.creditCommissionBps}, ${terms.recurring}, ${terms.recurringMonths}, ${referralCode},
            ${terms.payoutMethod}, ${terms.payoutThresholdCents}, ${terms.payoutFrequency}, ${approval !== null}, ${approval?.by ?? null}, ${approval?.at.toISOString() ?? null})
    ON CONFLICT (tenant_id) DO NOTHING
    RETURNING ${columns}`);
}

const COLUMN_OF: Record<string, string> = {
  salesCommissionBps: 'sales_commission_bps',
  creditCommissionBps: 'credit_commission_bps',
  recurring: 'recurring',
  recurringMonths: 'recurring_months',
  payoutMethod: 'payout_method',
  payoutThresholdCents: 'payout_threshold_cents',
  payoutFrequency: 'payout_frequency',
  stripeAccountId: 'stripe_account_id',
  status: 'status',
};

export type PartnerPatch = Partial<PartnerTerms> & { stripeAccountId?: string | null; status?: 'active' | 'inactive' };

/**
 * Applies the patch; null when there is no such partner or, with `maxTotalRewardBps`, when the
 * rates after the patch would add up to more than it (checked in the same statement, so two patches
 * racing, one raising each rate, cannot together pass the cap).
 */
export async function updatePartner(
  db: Db,
  tenantId: string,
  patch: PartnerPatch,
  maxTotalRewardBps: number | null = null,
): Promise<PartnerRow | null> {
  const sets = Object.entries(patch)
    .filter(([key, value]) => value !== undefined && COLUMN_OF[key])
    .map(
      ([key, value]) =>
        sql.fragment`${sql.identifier([COLUMN_OF[key]!])} = ${value as string | number | boolean | null}`,
    );
  const capped =
    maxTotalRewardBps === null
      ? sql.fragment``
      : sql.fragment`AND coalesce(${patch.salesCommissionBps ?? null}::int, sales_commission_bps) + coalesce(${patch.creditCommissionBps ?? null}::int, credit_commission_bps) <= ${maxTotalRewardBps}`;
  return db.maybeOne(sql.type(partnerRow)`
    UPDATE partners SET ${sql.join([...sets, sql.fragment`updated_at = now()`], sql.fragment`, `)}
    WHERE tenant_id = ${tenantId} ${capped} RETURNING ${columns}`);
}

/** Approval is recorded once: a second approval keeps the first approver and time. */
export async function approvePartner(db: Db, tenantId: string, approvedBy: string): Promise<PartnerRow | null> {
  return db.maybeOne(sql.type(partnerRow)`
    UPDATE partners SET approved = true, approved_by = coalesce(approved_by, ${approvedBy}), approved_at = coalesce(approved_at, now()), updated_at = now()
    WHERE tenant_id = ${tenantId} RETURNING ${columns}`);
}

/**
 * Partner tier and type, referral earning on, commission rate set, sub-account cap lifted. False when already a
 * partner.
 */
export async function upgradeTenantToPartner(db: Db, tenantId: string, commissionBps: number): Promise<boolean> {
  const upgraded = await db.maybeOneFirst(sql.type(z.object({ id: z.uuid() }))`
    UPDATE tenants SET tier = 'partner', type = 'partner', referral_earning_enabled = true,
                       referral_commission_bps = ${commissionBps}, sub_account_cap = NULL
    WHERE id = ${tenantId} AND type <> 'partner' RETURNING id`);
  return upgraded !== null;
}

export async function tenantIsPartner(db: Db, tenantId: string): Promise<boolean> {
  return db.exists(sql.unsafe`SELECT 1 FROM tenants WHERE id = ${tenantId} AND type = 'partner'`);
}
