// Records an edge's progress in the graph so PostgreSQL can answer "how many active referrals"
// without asking Temporal. Each write is idempotent: a retried activity stamps nothing twice.
// Vesting (and voiding) also settles the referrer's waitlist standing and milestone rewards, in the
// transaction that services/waitlist.ts refreshStanding runs: a recount, so a retry grants nothing twice.
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { refreshStanding } from '../services/waitlist.ts';

export type EdgeProgressActivities = ReturnType<typeof createEdgeProgressActivities>;

export function createEdgeProgressActivities({ db }: { db: DatabasePool }) {
  const referrerOf = z.object({ referrer_id: z.uuid() });
  return {
    async recordEdgeVested({ edgeId, vestedAt }: { edgeId: string; vestedAt: string }): Promise<void> {
      const edge = await db.maybeOne(sql.type(referrerOf)`UPDATE edges SET vested_at = coalesce(vested_at, ${vestedAt}) WHERE id = ${edgeId} RETURNING referrer_id`);
      if (edge) await refreshStanding(db, edge.referrer_id, `referral vested (edge ${edgeId})`);
    },
    async recordEdgeExpired({ edgeId, expiredAt }: { edgeId: string; expiredAt: string }): Promise<void> {
      await db.query(sql.unsafe`UPDATE edges SET expired_at = coalesce(expired_at, ${expiredAt}) WHERE id = ${edgeId} AND vested_at IS NULL`);
    },
    async recordEdgeCompleted({ edgeId, completedAt }: { edgeId: string; completedAt: string }): Promise<void> {
      await db.query(sql.unsafe`UPDATE edges SET completed_at = coalesce(completed_at, ${completedAt}) WHERE id = ${edgeId}`);
    },
    async recordEdgeVoided({ edgeId, voidedAt }: { edgeId: string; voidedAt: string }): Promise<void> {
      const edge = await db.maybeOne(sql.type(referrerOf)`UPDATE edges SET voided_at = coalesce(voided_at, ${voidedAt}) WHERE id = ${edgeId} RETURNING referrer_id`);
      if (edge) await refreshStanding(db, edge.referrer_id, `referral voided (edge ${edgeId})`);
    },
  };
}
