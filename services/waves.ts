// Waves off the waitlist as admins handle them: created (seat cap, opening time), looked at, admitted
// by hand (the wave-release workflow admits and plans them through db/wave-release.ts); the admin
// view of the current wait; and the forecast of paying customers from measured cohorts.
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { waveReleaseWorkflowId, wavesChangedSignal } from '../contracts/wave-release.ts';
import type { Logger } from '../platform/logger.ts';
import { signalIfRunning } from '../platform/workflow-delivery.ts';
import {
  admittedPage,
  cohortsByDaysWaited,
  findWave,
  insertWave,
  nextInLineByDaysWaited,
  scheduledWaves,
  waitingNow,
  type AdmittedRow,
  type WaveRow,
} from '../db/waves.ts';
import { admitWaveNow } from '../db/wave-release.ts';
import { bucketOf, forecast, WAIT_BUCKETS, type Forecast } from '../domain/waves.ts';
import { invalid, notFound } from './errors.ts';

import { DAY_MS } from '../domain/time.ts';

/** How the API reaches the deployment's wave release (its key is the task queue, as the worker starts it). */
export type WaveReleaseLink = { temporal: Client; taskQueue: string; log: Logger };

/**
 * Schedules a wave and tells the wave release, so a wave opening before its next planned wake-up
 * is admitted when it opens. Telling is best effort: a release that missed it (not running, or
 * Temporal away) still finds the wave at its next planning round.
 */
export async function createWave(
  db: DatabasePool,
  input: { name?: string | undefined; seatCap: number; opensAt: Date },
  createdBy: string,
  release?: WaveReleaseLink,
): Promise<WaveRow> {
  const wave = await insertWave(db, {
    name: input.name ?? null,
    seatCap: input.seatCap,
    opensAt: input.opensAt,
    createdBy,
  });
  if (release) {
    await signalIfRunning(release.temporal, waveReleaseWorkflowId(release.taskQueue), wavesChangedSignal, []).catch(
      (err: unknown) =>
        release.log.warn(
          { err, waveId: wave.id },
          'could not tell the wave release; it finds the wave at its next planning round',
        ),
    );
  }
  return wave;
}

export type WaveView = { wave: WaveRow; admitted: readonly AdmittedRow[]; nextCursor: string | null };

export async function getWave(
  db: DatabasePool,
  id: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<WaveView> {
  const wave = await findWave(db, id);
  if (!wave) throw notFound('wave_not_found', `No wave ${id}.`);
  const after = page.cursor === undefined ? 0 : Number(page.cursor);
  if (!Number.isSafeInteger(after) || after < 0)
    throw invalid('invalid_cursor', 'The cursor is not one this API gave out.', 'cursor');
  const admitted = await admittedPage(db, id, after, page.limit + 1);
  const more = admitted.length > page.limit;
  const rows = more ? admitted.slice(0, page.limit) : admitted;
  return { wave, admitted: rows, nextCursor: more ? String(rows.at(-1)!.position) : null };
}

/** Admits the wave now (whatever its opening time): idempotent, never past its cap. */
export async function admit(db: DatabasePool, id: string): Promise<{ wave: WaveRow; admittedNow: number }> {
  const result = await admitWaveNow(db, id);
  if (!result) throw notFound('wave_not_found', `No wave ${id}.`);
  return result;
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

const daysSince = (d: Date | null, now: Date) =>
  d === null ? null : Math.round(((now.getTime() - d.getTime()) / DAY_MS) * 10) / 10;

export async function waitlistAdminView(
  db: DatabasePool,
  targetWaitDays: number,
  now = new Date(),
): Promise<WaitlistAdminView> {
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
export async function forecastRelease(
  db: DatabasePool,
  release: number,
  observationDays: number,
): Promise<Forecast & { observationDays: number }> {
  const [cohortDays, nextDays] = await Promise.all([
    cohortsByDaysWaited(db, observationDays),
    nextInLineByDaysWaited(db, release),
  ]);
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
