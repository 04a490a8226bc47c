// Records an edge's progress in the graph so PostgreSQL can answer "how many active referrals"
// without asking Temporal. Each write is idempotent: a retried activity stamps nothing twice.
// Vesting (and voiding) also settles the referrer's waitlist standing and milestone rewards, in the same
// transaction as the stamp (db/standing.ts): a recount, so a retry grants nothing twice. A beta edge
// that vests after the launch flip enrolls its referrer as a partner at the beta tier, as the flip
// enrolled the referrers whose edges had vested before it (else their commission would never be paid out).
// Vesting also posts the inviter's credits for the invite or link (once, keyed by the edge; a held edge
// waits for its review: the activity is retried until the hold is cleared or the edge voided), and a
// void takes back what the invite or link gave both ways (db/credits.ts).
import { ApplicationFailure } from '@temporalio/common';
import { sql, type DatabasePool } from 'slonik';
import { LAUNCH_APPROVER } from '../contracts/launch-flip.ts';
import { enrollBetaReferrers } from '../db/launch.ts';
import { recordEdgeOutcome } from '../db/standing.ts';
import { DEFAULT_COMMISSION_SETTINGS } from '../domain/commission.ts';
import { betaReferrerTerms } from '../domain/launch.ts';
import { DEFAULT_FLAVORS, type FlavorTable } from '../domain/invite-flavors.ts';
import { DEFAULT_LINK_GRANTS, inviterGrantFor, type LinkGrants } from '../domain/seats.ts';
import { postInviterGrant, reverseInviteGrants } from '../db/credits.ts';

export type EdgeProgressActivities = ReturnType<typeof createEdgeProgressActivities>;

export function createEdgeProgressActivities({
  db,
  betaAutoBps = DEFAULT_COMMISSION_SETTINGS.betaAutoBps,
  flavors = DEFAULT_FLAVORS,
  links = DEFAULT_LINK_GRANTS,
}: {
  db: DatabasePool;
  /** BETA_AUTO_COMMISSION_BPS: the tier a referrer enrolled after the flip earns. */
  betaAutoBps?: number;
  /** INVITE_FLAVORS: what an invite code's inviter gets when the edge vests. */
  flavors?: FlavorTable;
  /** LINK_INVITER_CREDITS (and the rest of a link's grants). */
  links?: LinkGrants;
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
      const grant = await postInviterGrant(db, edgeId, (edge) => inviterGrantFor(edge, flavors, links));
      if (grant === 'held')
        throw ApplicationFailure.retryable(
          `edge ${edgeId} is held for review: the inviter's credits wait for the clearance (or the void)`,
          'EdgeHeld',
        );
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
      await reverseInviteGrants(db, edgeId);
    },
  };
}
