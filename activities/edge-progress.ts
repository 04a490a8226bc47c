// Records an edge's progress in the graph so PostgreSQL can answer "how many active referrals"
// without asking Temporal. Each write is idempotent: a retried activity stamps nothing twice.
import { sql, type DatabasePool } from 'slonik';

export type EdgeProgressActivities = ReturnType<typeof createEdgeProgressActivities>;

export function createEdgeProgressActivities({ db }: { db: DatabasePool }) {
  return {
    async recordEdgeVested({ edgeId, vestedAt }: { edgeId: string; vestedAt: string }): Promise<void> {
      await db.query(sql.unsafe`UPDATE edges SET vested_at = coalesce(vested_at, ${vestedAt}) WHERE id = ${edgeId}`);
    },
    async recordEdgeExpired({ edgeId, expiredAt }: { edgeId: string; expiredAt: string }): Promise<void> {
      await db.query(sql.unsafe`UPDATE edges SET expired_at = coalesce(expired_at, ${expiredAt}) WHERE id = ${edgeId} AND vested_at IS NULL`);
    },
  };
}
