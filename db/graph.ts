// Reads of the graph: who a code or ref names, whom a user brought (the downline), and a tenant's
// referral counts. Edges are written in db/edges.ts.
import { sql } from 'slonik';
import { z } from 'zod';
import { PROGRAM_PHASES } from '../domain/edge.ts';
import type { Db } from './pool.ts';

const referrerRow = z.object({
  id: z.uuid(),
  email: z.string(),
  phase: z.enum(PROGRAM_PHASES),
  via_partner_code: z.boolean(),
  partner_tenant_id: z.uuid().nullable(),
  partner_approved: z.boolean(),
  partner_active: z.boolean(),
});
export type Referrer = z.infer<typeof referrerRow>;

/**
 * The referrer a `ref` names: a partner's referral code, a user's referral code, or a user id; with
 * the program phase read in the same query and whether the referrer's tenant is a partner. A user of
 * an agency's sub-account refers for the agency: the partner is the agency's (the sub-account's
 * parent tenant), as pricing reads it (db/pricing.ts).
 */
export async function findReferrer(db: Db, ref: string): Promise<Referrer | null> {
  const byId = z.uuid().safeParse(ref).success;
  const code = ref.trim().toLowerCase();
  // Prepared statements (planned once per connection): this runs on every referred signup, and
  // planning it costs several times what executing it does.
  return db.maybeOne(
    byId
      ? sql.prepared('find_referrer_by_id', referrerRow)`${referrerQuery(sql.fragment`u.id = ${ref}`, code)}`
      : sql.prepared(
          'find_referrer_by_code',
          referrerRow,
        )`${referrerQuery(sql.fragment`u.referral_code = ${code}`, code)}`,
  );
}

const referrerQuery = (userMatch: ReturnType<typeof sql.fragment>, code: string) => sql.fragment`
    WITH named AS (
      SELECT t.owner_user_id AS user_id, true AS via_partner_code, 0 AS rank FROM partners p JOIN tenants t ON t.id = p.tenant_id WHERE p.referral_code = ${code}
      UNION ALL
      SELECT u.id, false, 1 FROM users u WHERE ${userMatch}
    )
    SELECT u.id, u.email, prog.phase, n.via_partner_code,
           p.tenant_id AS partner_tenant_id, coalesce(p.approved, false) AS partner_approved, coalesce(p.status = 'active', false) AS partner_active
    FROM named n JOIN users u ON u.id = n.user_id
    JOIN tenants ut ON ut.id = u.tenant_id
    LEFT JOIN partners p ON p.tenant_id = coalesce(ut.parent_tenant_id, u.tenant_id)
    CROSS JOIN program prog
    ORDER BY n.rank LIMIT 1`;

const downlineRow = z.object({
  user_id: z.uuid(),
  email: z.string(),
  referrer_id: z.uuid(),
  depth: z.number(),
  edge_id: z.uuid(),
  source: z.string(),
  kind: z.string(),
  vested_at: z.date().nullable(),
  created_at: z.date(),
});
export type DownlineRow = z.infer<typeof downlineRow>;

/** Whom a user brought, down to `depth` levels, in (depth, created_at, id) order after `after`. */
export async function downline(
  db: Db,
  userId: string,
  depth: number,
  limit: number,
  after: { depth: number; createdAt: string; id: string } | null,
): Promise<readonly DownlineRow[]> {
  return db.any(sql.type(downlineRow)`
    WITH RECURSIVE tree AS (
      SELECT e.id AS edge_id, e.referee_id, e.referrer_id, e.source, e.kind, e.vested_at, e.created_at, 1 AS depth
      FROM edges e WHERE e.referrer_id = ${userId}
      UNION ALL
      SELECT e.id, e.referee_id, e.referrer_id, e.source, e.kind, e.vested_at, e.created_at, t.depth + 1
      FROM edges e JOIN tree t ON e.referrer_id = t.referee_id
      WHERE t.depth < ${depth}
    )
    SELECT t.referee_id AS user_id, u.email, t.referrer_id, t.depth, t.edge_id, t.source, t.kind, t.vested_at, t.created_at
    FROM tree t JOIN users u ON u.id = t.referee_id
    ${after ? sql.fragment`WHERE (t.depth, t.created_at, t.referee_id) > (${after.depth}, ${after.createdAt}::timestamptz, ${after.id}::uuid)` : sql.fragment``}
    ORDER BY t.depth, t.created_at, t.referee_id
    LIMIT ${limit}`);
}

const referralStats = z.object({ total: z.number(), active: z.number() });

/**
 * Referrals brought by any user of the tenant or of its sub-accounts (an agency is credited for
 * those): all of them, and those vested (activated).
 */
export async function tenantReferralStats(db: Db, tenantId: string): Promise<z.infer<typeof referralStats>> {
  return db.one(sql.type(referralStats)`
    SELECT count(*)::int AS total, count(e.vested_at)::int AS active
    FROM edges e JOIN users u ON u.id = e.referrer_id
    WHERE u.tenant_id IN (SELECT id FROM tenants WHERE id = ${tenantId} OR parent_tenant_id = ${tenantId})`);
}
