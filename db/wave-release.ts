// Releasing waves, each write idempotent (so the activities that call them can be retried): admit
// a wave with the mail its admitted users receive (an admin's call or the workflow's), admit the
// waves whose time has come, keep the planned wave sized so nobody waits past the target, and say
// when the next wave opens.
import type { DatabasePool } from 'slonik';
import { ADMISSION_MAIL } from '../domain/waitlist.ts';
import { planWave, plannedSeats, type WavePlanSettings } from '../domain/waves.ts';
import {
  admitWave,
  dueWaveIds,
  type Admission,
  lastPositionSignedUpBefore,
  manualSeatsBy,
  nextScheduledWave,
  upsertPlannedWave,
  waitingNow,
} from './waves.ts';

/** Admits the wave now (whatever its opening time), in a transaction of its own. Null: no such wave. */
export async function admitWaveNow(db: DatabasePool, waveId: string): Promise<Admission | null> {
  return db.transaction((tx) => admitWave(tx, waveId, ADMISSION_MAIL));
}

export type ReleaseSummary = {
  waveId: string;
  name: string;
  admittedNow: number;
  admittedCount: number;
  seatCap: number;
};

/**
 * Admits every wave whose time has come, each in its own transaction (a wave that vanished meanwhile is passed over).
 */
export async function releaseDueWaves(db: DatabasePool, now = new Date()): Promise<ReleaseSummary[]> {
  const out: ReleaseSummary[] = [];
  for (const id of await dueWaveIds(db, now)) {
    const admission = await admitWaveNow(db, id);
    if (!admission) continue;
    const { wave, admittedNow } = admission;
    out.push({
      waveId: wave.id,
      name: wave.name,
      admittedNow,
      admittedCount: wave.admitted_count,
      seatCap: wave.seat_cap,
    });
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
  const [last, manual] = await Promise.all([
    lastPositionSignedUpBefore(db, plan.coverSignedUpBefore),
    manualSeatsBy(db, plan.opensAt),
  ]);
  const seats = plannedSeats(last, manual);
  if (seats === 0) return { planned: false, reason: 'covered_by_scheduled_waves' };
  const wave = await upsertPlannedWave(db, { opensAt: plan.opensAt, seatCap: seats });
  return {
    planned: true,
    waveId: wave.id,
    name: wave.name,
    opensAt: wave.opens_at.toISOString(),
    seatCap: wave.seat_cap,
    coversSignupsBefore: plan.coverSignedUpBefore.toISOString(),
  };
}

export type NextWave = { waveId: string; name: string; opensAt: string };

/** The scheduled wave that opens first (null: none is scheduled). */
export async function nextWave(db: DatabasePool): Promise<NextWave | null> {
  const wave = await nextScheduledWave(db);
  return wave && { waveId: wave.id, name: wave.name, opensAt: wave.opens_at.toISOString() };
}
