// The waitlist's use case: what a waiting user is shown about their place. (A referrer's standing
// is settled where their referral's progress is stamped: db/standing.ts.)
import type { DatabasePool } from 'slonik';
import { findWave, scheduledWaves } from '../db/waves.ts';
import {
  entitlementsOf,
  findStanding,
  grantedRungs,
  lastJump,
  passedThisWeek,
  positionAt,
  referralCounts,
  type EntitlementRow,
} from '../db/waitlist.ts';
import { LADDER, nextRung } from '../domain/milestones.ts';
import { waitlistMessages, waitlistScore, type Message, type Score } from '../domain/waitlist.ts';
import { notFound } from './errors.ts';

export type WaitlistView = {
  userId: string;
  status: 'waitlisted' | 'active';
  position: number | null;
  waitingSince: Date;
  admitted: { at: Date; waveId: string; waveName: string } | null;
  score: Score;
  waveSkip: boolean;
  referrals: { vested: number; waiting: number; expired: number; held: number };
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
  const position = waitlisted
    ? await positionAt(db, {
        skip: user.wave_skip,
        score: user.waitlist_score,
        createdAt: user.created_at,
        id: user.id,
      })
    : null;
  const next = waves.find((w) => w.seat_cap - w.admitted_count > 0) ?? null;
  const nextWave = next
    ? {
        id: next.id,
        name: next.name,
        opensAt: next.opens_at,
        seatCap: next.seat_cap,
        seatsLeft: next.seat_cap - next.admitted_count,
      }
    : null;
  const granted = new Set(grantedRungsMap.keys());
  const rung = nextRung(counts.vested, granted);
  return {
    userId,
    status: user.status,
    position,
    waitingSince: user.created_at,
    admitted:
      user.admitted_at && admittedWave
        ? { at: user.admitted_at, waveId: admittedWave.id, waveName: admittedWave.name }
        : null,
    score: waitlistScore(counts),
    waveSkip: user.wave_skip,
    referrals: { vested: counts.vested, waiting: counts.waiting, expired: counts.expired, held: counts.held },
    milestones: {
      reached: LADDER.filter((r) => grantedRungsMap.has(r.at)).map((r) => ({
        at: r.at,
        title: r.title,
        label: r.label,
        grantedAt: grantedRungsMap.get(r.at) ?? null,
      })),
      next: rung
        ? { at: rung.at, title: rung.title, label: rung.label, referralsNeeded: rung.at - counts.vested }
        : null,
    },
    entitlements,
    lastJump:
      jump && jump.old_position !== null && jump.new_position !== null
        ? { at: jump.at, from: jump.old_position, to: jump.new_position }
        : null,
    nextWave,
    messages: waitlistMessages({
      waitlisted,
      vested: counts.vested,
      granted,
      passedThisWeek: passed,
      nextWave: nextWave && { name: nextWave.name, opensAt: nextWave.opensAt, seatsLeft: nextWave.seatsLeft },
    }),
  };
}
