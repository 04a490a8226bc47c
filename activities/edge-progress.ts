// Records an edge's progress in the graph so PostgreSQL can answer "how many active referrals"
// without asking Temporal. Each write is idempotent: a retried activity stamps nothing twice.
// Vesting (and voiding) also settles the referrer's waitlist standing and milestone rewards, in the same
// transaction as the stamp (db/standing.ts): a recount, so a retry grants nothing twice.
import { sql, type DatabasePool } from 'slonik';
import { recordEdgeOutcome } from '../db/standing.ts';

export type EdgeProgressActivities = ReturnType<typeof createEdgeProgressActivities>;

export function createEdgeProgressActivities({ db }: { db: DatabasePool }) {
  return {
    async recordEdgeVested({ edgeId, vestedAt }: { edgeId: string; vestedAt: string }): Promise<void> {
      await recordEdgeOutcome(db, edgeId, { vestedAt });
    },
    async recordEdgeExpired({ edgeId, expiredAt }: { edgeId: string; expiredAt: string }): Promise<void> {
      await db.query(
        sql.unsafe`UPDATE edges SET expired_at = coalesce(expired_at, ${expiredAt}) WHERE id = ${edgeId} AND vested_at IS NULL`,
      );
    },
    async recordEdgeCompleted({ edgeId, completedAt }: { edgeId: string; completedAt: string }): Promise<void> {
      await db.query(
        sql.unsafe`UPDATE edges SET completed_at = coalesce(completed_at, ${completedAt}) WHERE id = ${edgeId}`,
      );
    },
    async recordEdgeVoided({ edgeId, voidedAt }: { edgeId: string; voidedAt: string }): Promise<void> {
      await recordEdgeOutcome(db, edgeId, { voidedAt });
    },
  };
}
