// What a share draws on (domain/share-copy.ts ShareFacts), read in one statement so the card and
// the copy agree with each other and with that moment: the user's status, their waitlist position
// (1 + the waiting users ahead in the order of users_waitlist_order_idx) and the highest milestone
// rung they hold now.
import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

const shareFactsRow = z.object({
  id: z.uuid(),
  email: z.string(),
  referral_code: z.string(),
  status: z.enum(['waitlisted', 'active']),
  position: z.number().nullable(),
  top_rung: z.number().nullable(),
});
export type ShareFactsRow = z.infer<typeof shareFactsRow>;

async function shareFactsWhere(db: Db, where: FragmentSqlToken): Promise<ShareFactsRow | null> {
  return db.maybeOne(sql.type(shareFactsRow)`
    SELECT u.id, u.email, u.referral_code, u.status,
           CASE WHEN u.status = 'waitlisted' THEN (
             SELECT count(*)::int + 1 FROM users v
             WHERE v.status = 'waitlisted'
               AND ((NOT v.wave_skip), (-v.waitlist_score), v.created_at, v.id)
                 < ((NOT u.wave_skip), (-u.waitlist_score), u.created_at, u.id)
           ) END AS position,
           (SELECT max(g.rung)::int FROM milestone_grants g WHERE g.user_id = u.id AND g.revoked_at IS NULL) AS top_rung
    FROM users u WHERE ${where}`);
}

/** The facts for the user a referral code names (exactly; codes are unique), or null. */
export async function shareFactsByCode(db: Db, code: string): Promise<ShareFactsRow | null> {
  return shareFactsWhere(db, sql.fragment`u.referral_code = ${code}`);
}

export async function shareFactsByUser(db: Db, userId: string): Promise<ShareFactsRow | null> {
  return shareFactsWhere(db, sql.fragment`u.id = ${userId}`);
}
