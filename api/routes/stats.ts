// Social proof that is literally true: public counts with the moment they were true.
import { z } from 'zod';
import type { DatabasePool } from '../../db/pool.ts';
import { createPublicStats, PUBLIC_STATS_TTL_MS, type PublicStatsSource } from '../../services/public-stats.ts';
import { defineRoute } from '../route.ts';

const count = z.number().int().min(0);

const publicStatsView = z.object({
  asOf: z.iso.datetime().describe('The moment every count was true (one database snapshot); a cached answer keeps it.'),
  buildersShipped: count.describe('Users who shipped an app (activated), exact.'),
  admittedThisWeek: count.describe(
    'Users admitted off the waitlist in the rolling week `week` (7 days up to asOf), exact.',
  ),
  waitlisted: count.describe('Users on the waitlist at asOf, exact.'),
  week: z
    .object({ from: z.iso.datetime(), to: z.iso.datetime() })
    .describe('The week admissions are counted over: after `from`, up to and including `to` (= asOf).'),
});

export function statsRoutes({ db }: { db: DatabasePool }, source: PublicStatsSource = createPublicStats(db)) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/stats/public',
      operationId: 'getPublicStats',
      summary: 'Public counts for social proof, true at `asOf`',
      description: `Builders who shipped an app, people admitted this week (a rolling 7 days) and people on the waitlist: exact counts read in one snapshot, kept in memory up to ${PUBLIC_STATS_TTL_MS / 1000} s per API process. \`asOf\` is the moment they were true, so a cached answer still states a fact. Cache-Control allows reuse for the rest of that time.`,
      tags: ['stats'],
      access: { public: true },
      rateLimitGroup: 'stats',
      responses: { 200: { description: 'The counts', schema: publicStatsView } },
      handle: async () => {
        const { stats, freshForMs } = await source.read();
        return {
          status: 200,
          headers: { 'Cache-Control': `public, max-age=${Math.floor(freshForMs / 1000)}` },
          body: {
            asOf: stats.asOf.toISOString(),
            buildersShipped: stats.buildersShipped,
            admittedThisWeek: stats.admittedThisWeek,
            waitlisted: stats.waitlisted,
            week: { from: stats.week.from.toISOString(), to: stats.week.to.toISOString() },
          },
        };
      },
    }),
  ];
}
