// The waitlist's use cases: a referrer's standing after one of their referrals vests (or is
// voided) with the milestone rewards it earns, and what a waiting user is shown about their place.
import type { DatabasePool, DatabaseTransactionConnection } from 'slonik';
import { postTransactions } from '../db/ledger.ts';
import { findWave, scheduledWaves } from '../db/waves.ts';
import {
  entitlementsOf,
  findStanding,
  grantedRungs,
  insertEntitlements,
  insertGrant,
  lastJump,
  lockStanding,
  passedThisWeek,
  positionAt,
  recordStandingChange,
  referralCounts,
  stampEdge,
  type EntitlementRow,
} from '../db/waitlist.ts';
import { milestonePosting, type LedgerPosting } from '../domain/ledger-postings.ts';
import {
  creditsOf,
  entitlementsOf as rungEntitlements,
  hasWaveSkip,
  LADDER,
  nextRung,
  rungsReached,
  waitlistMessages,
  waitlistScore,
  type Message,
  type Score,
} from '../domain/waitlist.ts';
import { notFound } from './errors.ts';

export type StandingRefresh = { userId: string; vested: number; score: number; waveSkip: boolean; moved: boolean; rungsGranted: number[] };

/**
 * Stamps an edge's progress (vested, voided) and settles its referrer's standing in one
 * transaction, so nobody reads the stamp without its consequences. Null: no such edge.
 */
export async function recordEdgeOutcome(db: DatabasePool, edgeId: string, outcome: { vestedAt: string } | { voidedAt: string }): Promise<StandingRefresh | null> {
  return db.transaction(async (tx) => {
    const referrerId = await stampEdge(tx, edgeId, outcome);
    if (!referrerId) return null;
    return refreshStandingIn(tx, referrerId, 'vestedAt' in outcome ? `referral vested (edge ${edgeId})` : `referral voided (edge ${edgeId})`);
  });
}

/**
 * Recounts a referrer's referrals, rewrites their score and place (recording the move), and grants
 * every rung of the ladder they reached and were not yet granted: credits through the ledger (keyed
 * by user and rung), entitlements by row. One transaction under the user's row lock; running it
 * again changes nothing, so the activity that calls it can be retried.
 */
async function refreshStandingIn(tx: DatabaseTransactionConnection, userId: string, reason: string): Promise<StandingRefresh | null> {
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
    await recordStandingChange(tx, { userId, vested: counts.vested, score, skip, oldScore: user.waitlist_score, oldSkip: user.wave_skip, oldPosition, newPosition, reason });
  }

  const rungsGranted: number[] = [];
  const postings: LedgerPosting[] = [];
  for (const rung of rungsReached(counts.vested)) {
    if (!(await insertGrant(tx, userId, rung.at, counts.vested))) continue;
    rungsGranted.push(rung.at);
    const credits = milestonePosting({ userId, rung: rung.at, credits: creditsOf(rung) });
    if (credits) postings.push(credits);
    await insertEntitlements(tx, userId, user.activated_at, rungEntitlements(rung).map((e) => ({ ...e, source: `milestone:${rung.at}` })));
  }
  await postTransactions(tx, postings);
  return { userId, vested: counts.vested, score, waveSkip: skip, moved, rungsGranted };
}

export type WaitlistView = {
  userId: string;
  status: 'waitlisted' | 'active';
  position: number | null;
  waitingSince: Date;
  admitted: { at: Date; waveId: string; waveName: string } | null;
  score: Score;
  waveSkip: boolean;
  referrals: { vested: number; waiting: number; expired: number };
  milestones: {
    reached: { at: number; title: string | null; label: string; grantedAt: Date | null }[];
    next: { at: number; title: string | null; label: string; referralsNeeded: number } | null;
  };
  entitlements: readonly EntitlementRow[];
  lastJump: { at: Date; from: number; to: number } | null;
  nextWave: { id: string; name: string; opensAt: Date; seatCap: number; seatsLeft: number } | null;
  messages: Message[];
};

/** What a user sees about their place: every figure read now, every message true of those figures. */
export async function waitlistView(db: DatabasePool, userId: string): Promise<WaitlistView> {
  const user = await findStanding(db, userId);
  if (!user) throw notFound('user_not_found', `No user ${userId}.`);
  const waitlisted = user.status === 'waitlisted';
  const [counts, grantedRungsMap, entitlements, jump, waves, passed, admittedWave] = await Promise.all([
    referralCounts(db, userId),
    grantedRungs(db, userId),
    entitlementsOf(db, userId),
    lastJump(db, userId),
    scheduledWaves(db),
    waitlisted ? passedThisWeek(db, userId) : Promise.resolve(0),
    user.admitted_wave_id ? findWave(db, user.admitted_wave_id) : Promise.resolve(null),
  ]);
  const position = waitlisted ? await positionAt(db, { skip: user.wave_skip, score: user.waitlist_score, createdAt: user.created_at, id: user.id }) : null;
  const next = waves.find((w) => w.seat_cap - w.admitted_count > 0) ?? null;
  const nextWave = next ? { id: next.id, name: next.name, opensAt: next.opens_at, seatCap: next.seat_cap, seatsLeft: next.seat_cap - next.admitted_count } : null;
  const granted = new Set(grantedRungsMap.keys());
  const rung = nextRung(counts.vested, granted);
  return {
    userId,
    status: user.status,
    position,
    waitingSince: user.created_at,
    admitted: user.admitted_at && admittedWave ? { at: user.admitted_at, waveId: admittedWave.id, waveName: admittedWave.name } : null,
    score: waitlistScore(counts),
    waveSkip: user.wave_skip,
    referrals: counts,
    milestones: {
      reached: LADDER.filter((r) => grantedRungsMap.has(r.at)).map((r) => ({ at: r.at, title: r.title, label: r.label, grantedAt: grantedRungsMap.get(r.at) ?? null })),
      next: rung ? { at: rung.at, title: rung.title, label: rung.label, referralsNeeded: rung.at - counts.vested } : null,
    },
    entitlements,
    lastJump: jump && jump.old_position !== null && jump.new_position !== null ? { at: jump.at, from: jump.old_position, to: jump.new_position } : null,
    nextWave,
    messages: waitlistMessages({ waitlisted, vested: counts.vested, granted, passedThisWeek: passed, nextWave: nextWave && { name: nextWave.name, opensAt: nextWave.opensAt, seatsLeft: nextWave.seatsLeft } }),
  };
}
