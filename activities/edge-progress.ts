// Records an edge's progress in the graph so PostgreSQL can answer "how many active referrals"
// without asking Temporal. Each write is idempotent: a retried activity stamps nothing twice.
// Vesting (and voiding) also settles the referrer's waitlist standing and milestone rewards, in the same
// transaction as the stamp (db/standing.ts): a recount, so a retry grants nothing twice. A beta edge
// that vests after the launch flip enrolls its referrer as a partner at the beta tier, as the flip
// enrolled the referrers whose edges had vested before it (else their commission would never be paid out).
import { sql, type DatabasePool } from 'slonik';
import { LAUNCH_APPROVER } from '../contracts/launch-flip.ts';
import { enrollBetaReferrers } from '../db/launch.ts';
import { recordEdgeOutcome } from '../db/standing.ts';
import { DEFAULT_COMMISSION_SETTINGS } from '../domain/commission.ts';
import { betaReferrerTerms } from '../domain/launch.ts';

export type EdgeProgressActivities = ReturnType<typeof createEdgeProgressActivities>;

export function createEdgeProgressActivities({
  db,
  betaAutoBps = DEFAULT_COMMISSION_SETTINGS.betaAutoBps,
}: {
  db: DatabasePool;
  /** BETA_AUTO_COMMISSION_BPS: the tier a referrer enrolled after the flip earns. */
  betaAutoBps?: number;
}) {
  return {
    async recordEdgeVested({ edgeId, vestedAt }: { edgeId: string; vestedAt: string }): Promise<void> {
      const standing = await recordEdgeOutcome(db, edgeId, { vestedAt });
      // Before the flip (no launch record) this enrolls nobody; a random code that collided is tried again.
      if (standing && standing.vested > 0)
        for (let round = 0; round < 3; round++) {
          const { enrolled, wanted } = await enrollBetaReferrers(
            db,
            betaReferrerTerms(betaAutoBps),
            LAUNCH_APPROVER,
            standing.userId,
          );
          if (enrolled === wanted) break;
        }
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
