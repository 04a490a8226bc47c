// The wave-release workflow's side effects: admit the waves whose time has come, and keep the
// planned wave sized so nobody waits past the target. Each is idempotent (a released wave admits
// no one more; the plan is recomputed from the list as it is).
import type { DatabasePool } from 'slonik';
import { DEFAULT_WAVE_PLAN, type WavePlanSettings } from '../domain/waitlist.ts';
import { planWaves, releaseDueWaves, type PlanOutcome, type ReleaseSummary } from '../services/waves.ts';

export type WaveActivities = ReturnType<typeof createWaveActivities>;

export function createWaveActivities({ db, plan = DEFAULT_WAVE_PLAN }: { db: DatabasePool; plan?: WavePlanSettings }) {
  return {
    async releaseDueWaves(): Promise<ReleaseSummary[]> {
      return releaseDueWaves(db);
    },
    async planWaves(): Promise<PlanOutcome> {
      return planWaves(db, plan);
    },
  };
}
