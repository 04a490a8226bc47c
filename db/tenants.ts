// Agency sub-accounts: a sub-account is a tenant whose parent is the agency, made with its owner
// user. The agency's row is locked while its sub-accounts are counted and one is added, so racing
// creations never pass the cap.
import { sql, UniqueIntegrityConstraintViolationError } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

const agencyRow = z.object({
  id: z.uuid(),
  parent_tenant_id: z.uuid().nullable(),
  /** A partner tenant (partner invite, or an approved active partner): no cap. */
  unlimited: z.boolean(),
});
export type AgencyRow = z.infer<typeof agencyRow>;

/**
 * Locks the tenant's row for the rest of the transaction and says whether it may run sub-accounts
 * without a cap: a partner tenant (type partner, or its cap lifted by a partner invite) or one with
 * an approved, active partner.
 */
export async function lockAgency(tx: Db, tenantId: string): Promise<AgencyRow | null> {
  return tx.maybeOne(sql.type(agencyRow)`
    SELECT t.id, t.parent_tenant_id,
           (t.type = 'partner' OR t.sub_account_cap IS NULL
            OR EXISTS (SELECT 1 FROM partners p WHERE p.tenant_id = t.id AND p.approved AND p.status = 'active')) AS unlimited
    FROM tenants t WHERE t.id = ${tenantId} FOR UPDATE OF t`);
}

/** Counted in a statement of its own after the lock, so it sees every sub-account committed before. */
export async function countSubAccounts(tx: Db, tenantId: string): Promise<number> {
  return tx.oneFirst(
    sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM tenants WHERE parent_tenant_id = ${tenantId}`,
  );
}

export const subAccountRow = z.object({
  id: z.uuid(),
  parent_tenant_id: z.uuid(),
  name: z.string(),
  owner_user_id: z.uuid(),
  owner_email: z.string(),
  owner_referral_code: z.string(),
  created_at: z.date(),
});
export type SubAccountRow = z.infer<typeof subAccountRow>;

export class SubAccountEmailTakenError extends Error {
  override name = 'SubAccountEmailTakenError';
}

/** The sub-account's tenant and its owner user, in one statement. */
export async function insertSubAccount(
  tx: Db,
  s: {
    id: string;
    parentTenantId: string;
    name: string;
    owner: { id: string; email: string; inbox: string; referralCode: string };
  },
): Promise<SubAccountRow> {
  // Millisecond precision, as the list's cursor carries it.
  const createdAt = new Date().toISOString();
  try {
    return await tx.one(sql.type(subAccountRow)`
      WITH tenant AS (
        INSERT INTO tenants (id, name, owner_user_id, parent_tenant_id, created_at)
        VALUES (${s.id}, ${s.name}, ${s.owner.id}, ${s.parentTenantId}, ${createdAt}::timestamptz)
        RETURNING id, parent_tenant_id, name, owner_user_id, created_at
      ), member AS (
        INSERT INTO users (id, tenant_id, email, inbox, referral_code, created_at, status)
        SELECT ${s.owner.id}, tenant.id, ${s.owner.email}, ${s.owner.inbox}, ${s.owner.referralCode}, ${createdAt}::timestamptz,
               CASE WHEN program.phase = 'beta' THEN 'waitlisted' ELSE 'active' END
        FROM tenant CROSS JOIN program
        RETURNING id, email, referral_code
      )
      SELECT tenant.id, tenant.parent_tenant_id, tenant.name, tenant.owner_user_id, member.email AS owner_email,
             member.referral_code AS owner_referral_code, tenant.created_at
      FROM tenant JOIN member ON member.id = tenant.owner_user_id`);
  } catch (err) {
    if (err instanceof UniqueIntegrityConstraintViolationError && err.constraint === 'users_email_key')
      throw new SubAccountEmailTakenError(s.owner.email);
    throw err;
  }
}

/** The agency's sub-accounts, oldest first, after the cursor (created_at, id). */
export async function listSubAccounts(
  db: Db,
  tenantId: string,
  limit: number,
  after: { createdAt: string; id: string } | null,
): Promise<readonly SubAccountRow[]> {
  return db.any(sql.type(subAccountRow)`
    SELECT t.id, t.parent_tenant_id, t.name, t.owner_user_id, u.email AS owner_email, u.referral_code AS owner_referral_code, t.created_at
    FROM tenants t JOIN users u ON u.id = t.owner_user_id
    WHERE t.parent_tenant_id = ${tenantId}
    ${after ? sql.fragment`AND (t.created_at, t.id) > (${after.createdAt}::timestamptz, ${after.id}::uuid)` : sql.fragment``}
    ORDER BY t.created_at, t.id LIMIT ${limit}`);
}

export async function findAgency(db: Db, tenantId: string): Promise<AgencyRow | null> {
  return db.maybeOne(sql.type(agencyRow)`
    SELECT t.id, t.parent_tenant_id,
           (t.type = 'partner' OR t.sub_account_cap IS NULL
            OR EXISTS (SELECT 1 FROM partners p WHERE p.tenant_id = t.id AND p.approved AND p.status = 'active')) AS unlimited
    FROM tenants t WHERE t.id = ${tenantId}`);
}
