// The waitlist in PostgreSQL: a user's standing (counts, score, wave skip) and place in the order,
// the moves that changed it, milestone grants and entitlements. The order is
// (wave skip first, score, signup time, id), one index: users_waitlist_order_idx.
import { sql, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

/** The waitlist's order over `users` (ahead first), as users_waitlist_order_idx has it. */
export const WAITLIST_ORDER = sql.fragment`(NOT wave_skip), (-waitlist_score), created_at, id`;

/** The order of the waitlist as a row value; `<` means ahead. Matches users_waitlist_order_idx. */
const orderKey = (alias: string) =>
  sql.fragment`((NOT ${sql.identifier([alias, 'wave_skip'])}), (-${sql.identifier([alias, 'waitlist_score'])}), ${sql.identifier([alias, 'created_at'])}, ${sql.identifier([alias, 'id'])})`;
const keyOf = (k: { skip: boolean; score: number; createdAt: Date; id: string }) =>
  sql.fragment`(${!k.skip}::boolean, ${-k.score}::int, ${k.createdAt.toISOString()}::timestamptz, ${k.id}::uuid)`;

const countsRow = z.object({
  vested: z.number(),
  waiting: z.number(),
  expired: z.number(),
  held: z.number(),
  headStart: z.number(),
});
export type ReferralCountsRow = z.infer<typeof countsRow>;

/**
 * A referrer's beta auto-enrolled referrals (what earns beta rewards; partner edges earn cash), voided ones left out: vested,
 * still waiting for activation, and expired without it; held ones (edges.held_at) apart, whatever their stage:
 * a held edge counts for nothing until cleared. And the user's head start (users.head_start), part of the score.
 */
export async function referralCounts(db: Db, userId: string): Promise<ReferralCountsRow> {
  return db.one(sql.type(countsRow)`
    SELECT count(*) FILTER (WHERE held_at IS NULL AND vested_at IS NOT NULL)::int AS vested,
           count(*) FILTER (WHERE held_at IS NULL AND vested_at IS NULL AND expired_at IS NULL)::int AS waiting,
           count(*) FILTER (WHERE held_at IS NULL AND vested_at IS NULL AND expired_at IS NOT NULL)::int AS expired,
           count(*) FILTER (WHERE held_at IS NOT NULL)::int AS held,
           coalesce((SELECT head_start FROM users WHERE id = ${userId}), 0)::int AS "headStart"
    FROM edges WHERE referrer_id = ${userId} AND kind = 'beta_auto' AND voided_at IS NULL`);
}

const standingRow = z.object({
  id: z.uuid(),
  email: z.string(),
  status: z.enum(['waitlisted', 'active']),
  created_at: z.date(),
  activated_at: z.date().nullable(),
  vested_referrals: z.number(),
  waitlist_score: z.number(),
  wave_skip: z.boolean(),
  admitted_at: z.date().nullable(),
  admitted_wave_id: z.uuid().nullable(),
});
export type StandingRow = z.infer<typeof standingRow>;

const standingColumns = sql.fragment`id, email, status, created_at, activated_at, vested_referrals, waitlist_score, wave_skip, admitted_at, admitted_wave_id`;

export async function lockStanding(tx: DatabaseTransactionConnection, userId: string): Promise<StandingRow | null> {
  return tx.maybeOne(sql.type(standingRow)`SELECT ${standingColumns} FROM users WHERE id = ${userId} FOR UPDATE`);
}

export async function findStanding(db: Db, userId: string): Promise<StandingRow | null> {
  return db.maybeOne(sql.type(standingRow)`SELECT ${standingColumns} FROM users WHERE id = ${userId}`);
}

/** 1 + how many waiting users are ahead of this place in the order. */
export async function positionAt(
  db: Db,
  key: { skip: boolean; score: number; createdAt: Date; id: string },
): Promise<number> {
  const ahead = await db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int AS n FROM users u WHERE u.status = 'waitlisted' AND ${orderKey('u')} < ${keyOf(key)}`);
  return ahead + 1;
}

export type StandingChange = {
  userId: string;
  vested: number;
  score: number;
  skip: boolean;
  oldScore: number;
  oldSkip: boolean;
  oldPosition: number | null;
  newPosition: number | null;
  reason: string;
};

/** Writes the new standing and the move it makes (positions as counted now). */
export async function recordStandingChange(tx: DatabaseTransactionConnection, change: StandingChange): Promise<void> {
  await tx.query(sql.unsafe`
    WITH u AS (
      UPDATE users SET vested_referrals = ${change.vested}, waitlist_score = ${change.score}, wave_skip = ${change.skip} WHERE id = ${change.userId}
    )
    INSERT INTO waitlist_moves (user_id, old_score, new_score, old_skip, new_skip, old_position, new_position, reason)
    SELECT ${change.userId}, ${change.oldScore}, ${change.score}, ${change.oldSkip}, ${change.skip}, ${change.oldPosition}, ${change.newPosition}, ${change.reason}
    WHERE ${change.oldScore} <> ${change.score} OR ${change.oldSkip} <> ${change.skip}`);
}

/** The rungs the user holds now (their live grants), with when each was granted. */
export async function grantedRungs(db: Db, userId: string): Promise<Map<number, Date>> {
  const rows = await db.any(
    sql.type(
      z.object({ rung: z.number(), granted_at: z.date() }),
    )`SELECT rung, granted_at FROM milestone_grants WHERE user_id = ${userId} AND revoked_at IS NULL`,
  );
  return new Map(rows.map((r) => [r.rung, r.granted_at]));
}

/** The user's live grants: rung and which grant of it. */
export async function liveGrants(db: Db, userId: string): Promise<readonly { rung: number; grant_no: number }[]> {
  return db.any(sql.type(z.object({ rung: z.number(), grant_no: z.number() }))`
    SELECT rung, grant_no FROM milestone_grants WHERE user_id = ${userId} AND revoked_at IS NULL ORDER BY rung DESC`);
}

/**
 * Grants a rung the user does not hold now: its next grant (1 the first time, one more each time it
 * is reached again after a revocation). Null when it is held already (milestone_grants_live).
 */
export async function insertGrant(
  tx: DatabaseTransactionConnection,
  userId: string,
  rung: number,
  vested: number,
): Promise<number | null> {
  return tx.maybeOneFirst(sql.type(z.object({ grant_no: z.number() }))`
    INSERT INTO milestone_grants (user_id, rung, grant_no, vested_referrals)
    SELECT ${userId}, ${rung}, coalesce(max(grant_no), 0) + 1, ${vested} FROM milestone_grants WHERE user_id = ${userId} AND rung = ${rung}
    ON CONFLICT DO NOTHING RETURNING grant_no`);
}

/**
 * Revokes a live grant with why and what its credits' reversal took (and could not take), and the
 * entitlements it gave: one that started ends now, one waiting for activation never starts.
 */
export async function revokeGrant(
  tx: DatabaseTransactionConnection,
  g: {
    userId: string;
    rung: number;
    grant: number;
    source: string;
    reason: string;
    reversed: number;
    shortfall: number;
  },
): Promise<void> {
  await tx.query(sql.unsafe`
    WITH revoked AS (
      UPDATE milestone_grants SET revoked_at = now(), revoke_reason = ${g.reason}, credits_reversed = ${g.reversed}, credits_shortfall = ${g.shortfall}
      WHERE user_id = ${g.userId} AND rung = ${g.rung} AND grant_no = ${g.grant} AND revoked_at IS NULL
    )
    UPDATE entitlements SET revoked_at = now(),
           ends_at = CASE WHEN starts_at IS NULL THEN NULL ELSE least(coalesce(ends_at, now()), now()) END
    WHERE user_id = ${g.userId} AND source = ${g.source} AND revoked_at IS NULL`);
}

export type EntitlementToGrant = {
  kind: string;
  detail: string;
  source: string;
  durationDays: number | null;
  vestsOnActivation: boolean;
};

/** Entitlements start now, or when the user builds an app if they vest on activation and the user has not yet. */
export async function insertEntitlements(
  tx: DatabaseTransactionConnection,
  userId: string,
  activatedAt: Date | null,
  grants: readonly EntitlementToGrant[],
): Promise<void> {
  if (grants.length === 0) return;
  await tx.query(sql.unsafe`
    INSERT INTO entitlements (user_id, kind, detail, source, duration_days, vests_on_activation, starts_at, ends_at)
    SELECT ${userId}, g.kind, g.detail, g.source, g.days, g.voa,
           CASE WHEN g.voa AND ${activatedAt?.toISOString() ?? null}::timestamptz IS NULL THEN NULL ELSE now() END,
           CASE WHEN g.voa AND ${activatedAt?.toISOString() ?? null}::timestamptz IS NULL THEN NULL
                WHEN g.days IS NULL THEN NULL ELSE now() + make_interval(days => g.days) END
    FROM unnest(${sql.array(
      grants.map((g) => g.kind),
      'text',
    )}::text[], ${sql.array(
      grants.map((g) => g.detail),
      'text',
    )}::text[],
                ${sql.array(
                  grants.map((g) => g.source),
                  'text',
                )}::text[], ${sql.array(
                  grants.map((g) => g.durationDays),
                  'int4',
                )}::int4[],
                ${sql.array(
                  grants.map((g) => g.vestsOnActivation),
                  'bool',
                )}::bool[]) AS g(kind, detail, source, days, voa)
    ON CONFLICT (user_id, source, kind, detail) DO NOTHING`);
}

const entitlementRow = z.object({
  kind: z.string(),
  detail: z.string(),
  source: z.string(),
  duration_days: z.number().nullable(),
  vests_on_activation: z.boolean(),
  starts_at: z.date().nullable(),
  ends_at: z.date().nullable(),
  granted_at: z.date(),
});
export type EntitlementRow = z.infer<typeof entitlementRow>;

/** What the user is entitled to: every entitlement not revoked. */
export async function entitlementsOf(db: Db, userId: string): Promise<readonly EntitlementRow[]> {
  return db.any(sql.type(entitlementRow)`
    SELECT kind, detail, source, duration_days, vests_on_activation, starts_at, ends_at, granted_at
    FROM entitlements WHERE user_id = ${userId} AND revoked_at IS NULL ORDER BY id`);
}

/**
 * How many users still waiting moved from behind this user to ahead of them in the last week (the
 * week before or since signup, whichever is shorter): each one's place then is the place before
 * its first move of the week. A user who moved and is still behind, or left the list, is not counted.
 */
export async function passedThisWeek(db: Db, userId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    WITH first_moves AS (
      SELECT DISTINCT ON (user_id) user_id, old_score, old_skip
      FROM waitlist_moves WHERE at >= now() - interval '7 days'
      ORDER BY user_id, at, id
    ), me AS (
      SELECT u.id, u.created_at, u.wave_skip, u.waitlist_score,
             coalesce(m.old_skip, u.wave_skip) AS then_skip, coalesce(m.old_score, u.waitlist_score) AS then_score
      FROM users u LEFT JOIN first_moves m ON m.user_id = u.id WHERE u.id = ${userId}
    )
    SELECT count(*)::int AS n
    FROM first_moves fm JOIN users v ON v.id = fm.user_id CROSS JOIN me
    WHERE v.id <> me.id AND v.status = 'waitlisted'
      AND ((NOT fm.old_skip), (-fm.old_score), v.created_at, v.id) > ((NOT me.then_skip), (-me.then_score), me.created_at, me.id)
      AND ${orderKey('v')} < ((NOT me.wave_skip), (-me.waitlist_score), me.created_at, me.id)`);
}

const moveRow = z.object({
  at: z.date(),
  old_position: z.number().nullable(),
  new_position: z.number().nullable(),
  reason: z.string(),
});

/** The user's last move up the list, as recorded. */
export async function lastJump(db: Db, userId: string): Promise<z.infer<typeof moveRow> | null> {
  return db.maybeOne(sql.type(moveRow)`
    SELECT at, old_position, new_position, reason FROM waitlist_moves
    WHERE user_id = ${userId} AND new_position < old_position ORDER BY at DESC, id DESC LIMIT 1`);
}

/** Starts the entitlements that were waiting for this user to build an app. */
export async function startEntitlementsOnActivation(db: Db, userId: string, activatedAt: Date): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE entitlements SET starts_at = ${activatedAt.toISOString()},
           ends_at = CASE WHEN duration_days IS NULL THEN NULL ELSE ${activatedAt.toISOString()}::timestamptz + make_interval(days => duration_days) END
    WHERE user_id = ${userId} AND starts_at IS NULL AND vests_on_activation AND revoked_at IS NULL`);
}

/** Stamps an edge vested or voided (the first stamp stays); answers its referrer, or null for no such edge. */
const referrerOf = z.object({ referrer_id: z.uuid() });

export async function stampEdge(
  tx: DatabaseTransactionConnection,
  edgeId: string,
  outcome: { vestedAt: string } | { voidedAt: string },
): Promise<string | null> {
  const row =
    'vestedAt' in outcome
      ? await tx.maybeOne(
          sql.type(
            referrerOf,
          )`UPDATE edges SET vested_at = coalesce(vested_at, ${outcome.vestedAt}) WHERE id = ${edgeId} RETURNING referrer_id`,
        )
      : await tx.maybeOne(
          sql.type(
            referrerOf,
          )`UPDATE edges SET voided_at = coalesce(voided_at, ${outcome.voidedAt}) WHERE id = ${edgeId} RETURNING referrer_id`,
        );
  return row?.referrer_id ?? null;
}
