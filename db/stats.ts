// The public counts (GET /v1/stats/public), read in one statement so they are all true at the same
// moment, which the statement reports as `as_of` (the transaction's now()). Exact integers.
import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

const publicCountsRow = z.object({
  as_of: z.date(),
  week_from: z.date(),
  builders: z.number(),
  admitted_this_week: z.number(),
  waitlisted: z.number(),
});
export type PublicCountsRow = z.infer<typeof publicCountsRow>;

/**
 * Builders: users who shipped an app (activated_at set). Admitted this week: users whose
 * admitted_at lies in the 7 days up to now (a rolling week, whichever path admitted them).
 * Waitlisted: users still waiting now.
 */
export async function publicCounts(db: Db): Promise<PublicCountsRow> {
  return db.one(sql.type(publicCountsRow)`
    SELECT now() AS as_of, now() - interval '7 days' AS week_from,
           count(*) FILTER (WHERE activated_at IS NOT NULL AND activated_at <= now())::int AS builders,
           count(*) FILTER (WHERE admitted_at > now() - interval '7 days' AND admitted_at <= now())::int AS admitted_this_week,
           count(*) FILTER (WHERE status = 'waitlisted')::int AS waitlisted
    FROM users`);
}
