// Waves: how they are planned so nobody waits longer than the target, when the wave release looks
// again, and what releasing X off the waitlist is expected to bring (from measured cohorts). Pure: no I/O.
import { DAY_MS } from './time.ts';

// ---- Wave planning ----------------------------------------------------------------------------

export type WavePlanSettings = { targetWaitDays: number; cadenceDays: number; leadDays: number };
export const DEFAULT_WAVE_PLAN: WavePlanSettings = { targetWaitDays: 30, cadenceDays: 7, leadDays: 2 };

/**
 * When the next planned wave must open so that whoever has waited longest is admitted `leadDays`
 * before reaching the target, and whose signups it must cover: everyone who would otherwise pass
 * the target before the wave after it (one cadence later). Null when nobody is waiting.
 */
export function planWave(
  now: Date,
  oldestWaitingSince: Date | null,
  s: WavePlanSettings,
): { opensAt: Date; coverSignedUpBefore: Date } | null {
  if (oldestWaitingSince === null) return null;
  const mustOpenBy = oldestWaitingSince.getTime() + (s.targetWaitDays - s.leadDays) * DAY_MS;
  // Plan only once it is due within one cadence; until then the list may still be served by hand.
  if (mustOpenBy > now.getTime() + s.cadenceDays * DAY_MS) return null;
  const opensAt = new Date(Math.max(now.getTime(), mustOpenBy));
  return {
    opensAt,
    coverSignedUpBefore: new Date(opensAt.getTime() + (s.cadenceDays - s.targetWaitDays + s.leadDays) * DAY_MS),
  };
}

/**
 * Seats a planned wave needs: down to the last-placed user who must be covered, less seats other waves before it
 * release.
 */
export function plannedSeats(lastCoveredPosition: number | null, seatsInEarlierWaves: number): number {
  if (lastCoveredPosition === null) return 0;
  return Math.max(0, lastCoveredPosition - seatsInEarlierWaves);
}

/** When the release workflow next looks at the waves, and why: the next wave opening, or the next planning round. */
export type WakeUp = { at: Date; reason: { kind: 'wave_opens'; waveName: string } | { kind: 'planning' } };

/** The earlier of the next wave's opening and one planning interval from now (a wave already due: now). */
export function nextWakeUp(now: Date, nextWave: { name: string; opensAt: Date } | null, planEveryMs: number): WakeUp {
  const planning = now.getTime() + planEveryMs;
  if (nextWave && nextWave.opensAt.getTime() <= planning) {
    return {
      at: new Date(Math.max(now.getTime(), nextWave.opensAt.getTime())),
      reason: { kind: 'wave_opens', waveName: nextWave.name },
    };
  }
  return { at: new Date(planning), reason: { kind: 'planning' } };
}

// ---- Forecast ---------------------------------------------------------------------------------

/** Buckets of time waited, in days: [from, to). */
export const WAIT_BUCKETS: readonly { label: string; fromDays: number; toDays: number | null }[] = [
  { label: '0-7 days', fromDays: 0, toDays: 7 },
  { label: '7-14 days', fromDays: 7, toDays: 14 },
  { label: '14-30 days', fromDays: 14, toDays: 30 },
  { label: '30-60 days', fromDays: 30, toDays: 60 },
  { label: '60+ days', fromDays: 60, toDays: null },
];

export function bucketOf(waitedMs: number): number {
  const days = waitedMs / DAY_MS;
  const i = WAIT_BUCKETS.findIndex((b) => days >= b.fromDays && (b.toDays === null || days < b.toDays));
  return i === -1 ? 0 : i;
}

export type Cohort = { admitted: number; paying: number };
export type ForecastLine = {
  bucket: string;
  released: number;
  cohort: Cohort;
  rateBps: number | null;
  basis: 'cohort' | 'all_cohorts' | 'none';
  expectedHundredths: number | null;
};
export type Forecast = { release: number; expectedPaying: number | null; lines: ForecastLine[]; note: string };

/**
 * "Release X, expect Y paying": each released user counts at the measured conversion of the cohort
 * that waited as long as they have (all cohorts pooled where that bucket has no data). Y is rounded
 * to the nearest whole customer; every figure behind it is returned.
 */
export function forecast(release: number, releasedByBucket: readonly number[], cohorts: readonly Cohort[]): Forecast {
  const pooled = cohorts.reduce((a, c) => ({ admitted: a.admitted + c.admitted, paying: a.paying + c.paying }), {
    admitted: 0,
    paying: 0,
  });
  const lines: ForecastLine[] = WAIT_BUCKETS.map((b, i) => {
    const cohort = cohorts[i] ?? { admitted: 0, paying: 0 };
    const released = releasedByBucket[i] ?? 0;
    const basisCohort = cohort.admitted > 0 ? cohort : pooled.admitted > 0 ? pooled : null;
    const basis = cohort.admitted > 0 ? 'cohort' : pooled.admitted > 0 ? 'all_cohorts' : 'none';
    return {
      bucket: b.label,
      released,
      cohort,
      rateBps: basisCohort ? Math.floor((basisCohort.paying * 10_000) / basisCohort.admitted) : null,
      basis,
      // released x paying / admitted, in hundredths of a customer, rounded down.
      expectedHundredths: basisCohort ? Math.floor((released * basisCohort.paying * 100) / basisCohort.admitted) : null,
    };
  });
  if (pooled.admitted === 0) {
    return {
      release,
      expectedPaying: null,
      lines,
      note: 'No admitted cohort has been observed long enough yet: nothing to forecast from.',
    };
  }
  // Exact sum of the fractions, then rounded half up to whole customers.
  let num = 0n;
  let den = 1n;
  for (const [i, line] of lines.entries()) {
    if (line.released === 0) continue;
    const c = (cohorts[i]?.admitted ?? 0) > 0 ? cohorts[i]! : pooled;
    const n = BigInt(line.released) * BigInt(c.paying);
    const d = BigInt(c.admitted);
    num = num * d + n * den;
    den *= d;
  }
  const expectedPaying = Number((2n * num + den) / (2n * den));
  return {
    release,
    expectedPaying,
    lines,
    note: 'Each released user counts at the conversion of admitted users who had waited as long; buckets without data use all cohorts pooled.',
  };
}
