// Waves off the waitlist: created by an admin (seat cap, opening time) or planned so nobody waits
// longer than the target, admitted by hand or by the wave-release workflow when they open; the
// admin view of the current wait; and the forecast of paying customers from measured cohorts.
import type { DatabasePool } from 'slonik';
import {
  admittedPage,
  admitWave,
  cohortsByDaysWaited,
  dueWaveIds,
  findWave,
  insertWave,
  lastPositionSignedUpBefore,
  manualSeatsBy,
  nextInLineByDaysWaited,
  scheduledWaves,
  upsertPlannedWave,
  waitingNow,
  type AdmittedRow,
  type WaveRow,
} from '../db/waves.ts';
import { bucketOf, forecast, planWave, plannedSeats, WAIT_BUCKETS, type Forecast, type WavePlanSettings } from '../domain/waitlist.ts';
import { invalid, notFound } from './errors.ts';

const DAY_MS = 86_400_000;

export const ADMISSION_MAIL = {
  subject: "You're in",
  body: (waveName: string) => `Good news: ${waveName} just opened and you have a seat. Your account is active; sign in to start building.\n`,
};

export async function createWave(db: DatabasePool, input: { name?: string | undefined; seatCap: number; opensAt: Date }, createdBy: string): Promise<WaveRow> {
  return insertWave(db, { name: input.name ?? null, seatCap: input.seatCap, opensAt: input.opensAt, createdBy });
}

export type WaveView = { wave: WaveRow; admitted: readonly AdmittedRow[]; nextCursor: string | null };

export async function getWave(db: DatabasePool, id: string, page: { limit: number; cursor?: string | undefined }): Promise<WaveView> {
  const wave = await findWave(db, id);
  if (!wave) throw notFound('wave_not_found', `No wave ${id}.`);
  const after = page.cursor === undefined ? 0 : Number(page.cursor);
  if (!Number.isSafeInteger(after) || after < 0) throw invalid('invalid_cursor', 'The cursor is not one this API gave out.', 'cursor');
  const admitted = await admittedPage(db, id, after, page.limit + 1);
  const more = admitted.length > page.limit;
  const rows = more ? admitted.slice(0, page.limit) : admitted;
  return { wave, admitted: rows, nextCursor: more ? String(rows.at(-1)!.position) : null };
}

/** Admits the wave now (whatever its opening time): idempotent, never past its cap. */
export async function admit(db: DatabasePool, id: string): Promise<{ wave: WaveRow; admittedNow: number }> {
  const result = await db.transaction((tx) => admitWave(tx, id, ADMISSION_MAIL));
  if (!result) throw notFound('wave_not_found', `No wave ${id}.`);
  return result;
}

export type ReleaseSummary = { waveId: string; name: string; admittedNow: number; admittedCount: number; seatCap: number };

/** Admits every wave whose time has come, each in its own transaction. */
export async function releaseDueWaves(db: DatabasePool, now = new Date()): Promise<ReleaseSummary[]> {
  const out: ReleaseSummary[] = [];
  for (const id of await dueWaveIds(db, now)) {
    const { wave, admittedNow } = await admit(db, id);
    out.push({ waveId: wave.id, name: wave.name, admittedNow, admittedCount: wave.admitted_count, seatCap: wave.seat_cap });
  }
  return out;
}

export type PlanOutcome =
  | { planned: false; reason: 'nobody_waiting' | 'not_due_yet' | 'covered_by_scheduled_waves' }
  | { planned: true; waveId: string; name: string; opensAt: string; seatCap: number; coversSignupsBefore: string };

/**
 * Keeps a wave planned so that whoever has waited longest is admitted before the target wait, and
 * sized for everyone who would pass the target before the wave after it: release follows inflow.
 */
export async function planWaves(db: DatabasePool, settings: WavePlanSettings, now = new Date()): Promise<PlanOutcome> {
  const { oldest } = await waitingNow(db);
  const plan = planWave(now, oldest, settings);
  if (!plan) return { planned: false, reason: oldest === null ? 'nobody_waiting' : 'not_due_yet' };
  const [last, manual] = await Promise.all([lastPositionSignedUpBefore(db, plan.coverSignedUpBefore), manualSeatsBy(db, plan.opensAt)]);
  const seats = plannedSeats(last, manual);
  if (seats === 0) return { planned: false, reason: 'covered_by_scheduled_waves' };
  const wave = await upsertPlannedWave(db, { opensAt: plan.opensAt, seatCap: seats });
  return { planned: true, waveId: wave.id, name: wave.name, opensAt: wave.opens_at.toISOString(), seatCap: wave.seat_cap, coversSignupsBefore: plan.coverSignedUpBefore.toISOString() };
}

export type WaitlistAdminView = {
  waiting: number;
  longestWaitDays: number | null;
  medianWaitDays: number | null;
  oldestWaitingSince: Date | null;
  targetWaitDays: number;
  signupsLast7Days: number;
  scheduledWaves: readonly WaveRow[];
};

const daysSince = (d: Date | null, now: Date) => (d === null ? null : Math.round(((now.getTime() - d.getTime()) / DAY_MS) * 10) / 10);

export async function waitlistAdminView(db: DatabasePool, targetWaitDays: number, now = new Date()): Promise<WaitlistAdminView> {
  const [w, waves] = await Promise.all([waitingNow(db), scheduledWaves(db)]);
  return {
    waiting: w.waiting,
    longestWaitDays: daysSince(w.oldest, now),
    medianWaitDays: daysSince(w.median, now),
    oldestWaitingSince: w.oldest,
    targetWaitDays,
    signupsLast7Days: w.signups_7d,
    scheduledWaves: waves,
  };
}

/** "Release X, expect Y paying": the next X in line, weighed by the conversion of cohorts that waited as long. */
export async function forecastRelease(db: DatabasePool, release: number, observationDays: number): Promise<Forecast & { observationDays: number }> {
  const [cohortDays, nextDays] = await Promise.all([cohortsByDaysWaited(db, observationDays), nextInLineByDaysWaited(db, release)]);
  const cohorts = WAIT_BUCKETS.map(() => ({ admitted: 0, paying: 0 }));
  for (const d of cohortDays) {
    const c = cohorts[bucketOf(d.days * DAY_MS)]!;
    c.admitted += d.n;
    c.paying += d.paying;
  }
  const released = WAIT_BUCKETS.map(() => 0);
  for (const d of nextDays) released[bucketOf(d.days * DAY_MS)]! += d.n;
  const inLine = released.reduce((a, b) => a + b, 0);
  return { ...forecast(inLine, released, cohorts), observationDays };
}
