// A referrer's standing, settled where their referral's progress is stamped: the edge's stamp,
// the recount, the new score and place, and the milestone rewards commit together, so nobody reads
// the stamp without its consequences. Shared by the vesting activity and any use case that stamps.
import type { DatabasePool, DatabaseTransactionConnection } from 'slonik';
import { milestonePosting, type LedgerPosting } from '../domain/ledger-postings.ts';
import { creditsOf, entitlementsOf, hasWaveSkip, rungsReached } from '../domain/milestones.ts';
import { waitlistScore } from '../domain/waitlist.ts';
import { postTransactions } from './ledger.ts';
import {
  insertEntitlements,
  insertGrant,
  lockStanding,
  positionAt,
  recordStandingChange,
  referralCounts,
  stampEdge,
} from './waitlist.ts';

export type StandingRefresh = {
  userId: string;
  vested: number;
  score: number;
  waveSkip: boolean;
  moved: boolean;
  rungsGranted: number[];
};

/**
 * Stamps an edge's progress (vested, voided) and settles its referrer's standing in one
 * transaction. Null: no such edge.
 */
export async function recordEdgeOutcome(
  db: DatabasePool,
  edgeId: string,
  outcome: { vestedAt: string } | { voidedAt: string },
): Promise<StandingRefresh | null> {
  return db.transaction(async (tx) => {
    const referrerId = await stampEdge(tx, edgeId, outcome);
    if (!referrerId) return null;
    return refreshStandingIn(
      tx,
      referrerId,
      'vestedAt' in outcome ? `referral vested (edge ${edgeId})` : `referral voided (edge ${edgeId})`,
    );
  });
}

/**
 * Recounts a referrer's referrals, rewrites their score and place (recording the move), and grants
 * every rung of the ladder they reached and were not yet granted: credits through the ledger (keyed
 * by user and rung), entitlements by row. Under the user's row lock; running it again changes
 * nothing, so the activity that calls it can be retried.
 */
async function refreshStandingIn(
  tx: DatabaseTransactionConnection,
  userId: string,
  reason: string,
): Promise<StandingRefresh | null> {
  const user = await lockStanding(tx, userId);
  if (!user) return null;
  const counts = await referralCounts(tx, userId);
  const score = waitlistScore(counts).points;
  const skip = hasWaveSkip(counts.vested);
  const moved = score !== user.waitlist_score || skip !== user.wave_skip;
  const waitlisted = user.status === 'waitlisted';
  const oldKey = { skip: user.wave_skip, score: user.waitlist_score, createdAt: user.created_at, id: user.id };
  const oldPosition = moved && waitlisted ? await positionAt(tx, oldKey) : null;
  const newPosition = moved && waitlisted ? await positionAt(tx, { ...oldKey, skip, score }) : null;
  if (moved || counts.vested !== user.vested_referrals) {
    await recordStandingChange(tx, {
      userId,
      vested: counts.vested,
      score,
      skip,
      oldScore: user.waitlist_score,
      oldSkip: user.wave_skip,
      oldPosition,
      newPosition,
      reason,
    });
  }

  const rungsGranted: number[] = [];
  const postings: LedgerPosting[] = [];
  for (const rung of rungsReached(counts.vested)) {
    if (!(await insertGrant(tx, userId, rung.at, counts.vested))) continue;
    rungsGranted.push(rung.at);
    const credits = milestonePosting({ userId, rung: rung.at, credits: creditsOf(rung) });
    if (credits) postings.push(credits);
    await insertEntitlements(
      tx,
      userId,
      user.activated_at,
      entitlementsOf(rung).map((e) => ({ ...e, source: `milestone:${rung.at}` })),
    );
  }
  await postTransactions(tx, postings);
  return { userId, vested: counts.vested, score, waveSkip: skip, moved, rungsGranted };
}

// Stand-in until engineer "holes" exports refreshStanding (issue 14): drop this line at the merge.
export { refreshStandingIn as refreshStanding };
