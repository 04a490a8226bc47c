// The public counts behind the social proof ("1,144 builders already shipped apps"): read in one
// statement (db/stats.ts), kept in memory for a short while (per process), and answered with the
// moment they were true (`asOf`), so a cached answer still states a fact: "at asOf, there were N".
// Exact integers, never rounded.
import type { DatabasePool } from 'slonik';
import { publicCounts } from '../db/stats.ts';

export type PublicStats = {
  asOf: Date;
  /** The rolling week the admissions are counted over: (asOf - 7 days, asOf]. */
  week: { from: Date; to: Date };
  buildersShipped: number;
  admittedThisWeek: number;
  waitlisted: number;
};

export type PublicStatsSource = {
  /** The counts, and for how many more milliseconds this answer is served from memory. */
  read(): Promise<{ stats: PublicStats; freshForMs: number }>;
};

/** How long counts are served from memory. */
export const PUBLIC_STATS_TTL_MS = 30_000;

export function createPublicStats(
  db: DatabasePool,
  { ttlMs = PUBLIC_STATS_TTL_MS, now = Date.now }: { ttlMs?: number; now?: () => number } = {},
): PublicStatsSource {
  let cached: { stats: PublicStats; readAt: number } | undefined;
  let reading: Promise<{ stats: PublicStats; readAt: number }> | undefined;
  const fresh = (c: { readAt: number }) => now() - c.readAt < ttlMs;
  const answer = (c: { stats: PublicStats; readAt: number }) => ({
    stats: c.stats,
    freshForMs: Math.max(0, ttlMs - (now() - c.readAt)),
  });
  return {
    async read() {
      if (cached && fresh(cached)) return answer(cached);
      // One read at a time refreshes the counts; callers arriving meanwhile share it.
      reading ??= (async () => {
        const readAt = now();
        const row = await publicCounts(db);
        return {
          readAt,
          stats: {
            asOf: row.as_of,
            week: { from: row.week_from, to: row.as_of },
            buildersShipped: row.builders,
            admittedThisWeek: row.admitted_this_week,
            waitlisted: row.waitlisted,
          },
        };
      })().finally(() => {
        reading = undefined;
      });
      cached = await reading;
      return answer(cached);
    },
  };
}
