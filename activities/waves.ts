// The wave-release workflow's side effects: admit the waves whose time has come, keep the planned
// wave sized so nobody waits past the target, and read when the next wave opens. Each is idempotent
// (a released wave admits no one more; the plan is recomputed from the list as it is).
import type { DatabasePool } from 'slonik';
import { DEFAULT_WAVE_PLAN, type WavePlanSettings } from '../domain/waves.ts';
import {
  nextWave,
  planWaves,
  releaseDueWaves,
  type NextWave,
  type PlanOutcome,
  type ReleaseSummary,
} from '../db/wave-release.ts';

export type { NextWave, PlanOutcome, ReleaseSummary } from '../db/wave-release.ts';
export type WaveActivities = ReturnType<typeof createWaveActivities>;

export function createWaveActivities({ db, plan = DEFAULT_WAVE_PLAN }: { db: DatabasePool; plan?: WavePlanSettings }) {
  return {
    async releaseDueWaves(): Promise<ReleaseSummary[]> {
      return releaseDueWaves(db);
    },
    async planWaves(): Promise<PlanOutcome> {
      return planWaves(db, plan);
    },
    async nextWave(): Promise<NextWave | null> {
      return nextWave(db);
    },
  };
}
