// Started by the `waves-release` Schedule (every few minutes): admits every wave whose opening time
// has come, then plans the next wave so that nobody waits longer than the target (its size follows
// inflow). Short-lived: one run per tick, overlapping ticks skipped.
import * as wf from '@temporalio/workflow';
import type { WaveActivities } from '../activities/waves.ts';
import type { PlanOutcome, ReleaseSummary } from '../activities/waves.ts';

const { releaseDueWaves, planWaves } = wf.proxyActivities<WaveActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export async function waveRelease(): Promise<{ released: ReleaseSummary[]; plan: PlanOutcome }> {
  const released = await releaseDueWaves();
  const plan = await planWaves();
  return { released, plan };
}
