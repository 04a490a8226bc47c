// The wave release of a deployment, `wave-release:<key>`, running as long as the deployment:
//   admit every wave whose opening time has come -> plan the next wave so nobody waits longer than
//   the target (its size follows inflow) -> wait until the next wave opens, the next planning
//   round, or a `wavesChanged` message, whichever comes first -> again; continue as new every so
//   many rounds. One run and one timer while nothing is due, where a Schedule made a run a minute.
import * as wf from '@temporalio/workflow';
import type { PlanOutcome, ReleaseSummary, WaveActivities } from '../activities/waves.ts';
import { nextWakeUp } from '../domain/waves.ts';
import { wakeUpSummary, wavesChangedSignal, type WaveReleaseInput } from '../contracts/wave-release.ts';

const ROUNDS_PER_RUN = 200;
// A wave due now is released on the next round; never faster than this, whatever the clocks say.
const MIN_WAIT_MS = 1_000;

// Retried without end: a database outage delays the release, it must not end the workflow.
const waves = wf.proxyActivities<WaveActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: Infinity },
});

// As the one-round runs of the retired Schedule had them: they gave up, the next tick came.
const oneRound = wf.proxyActivities<WaveActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export type OneRound = { released: ReleaseSummary[]; plan: PlanOutcome };

/**
 * Without input: a run the retired `waves-release` Schedule started (contracts/wave-release.ts),
 * one round and done, as before; the branch follows the start, so those runs replay and a tick the
 * Schedule fires before the worker deletes it never becomes a second loop.
 */
export async function waveRelease(input?: WaveReleaseInput): Promise<OneRound> {
  if (input === undefined) {
    const released = await oneRound.releaseDueWaves();
    const plan = await oneRound.planWaves();
    return { released, plan };
  }

  let wavesChanged = false;
  wf.setHandler(wavesChangedSignal, () => {
    wavesChanged = true;
  });
  // A message that arrives while continuing as new is lost, and need not be kept: each run starts with a round.
  for (
    let round = 0;
    round < (input.roundsPerRun ?? ROUNDS_PER_RUN) && !wf.workflowInfo().continueAsNewSuggested;
    round++
  ) {
    wavesChanged = false;
    await waves.releaseDueWaves();
    await waves.planWaves();
    const next = await waves.nextWave();
    const wake = nextWakeUp(
      new Date(Date.now()),
      next && { name: next.name, opensAt: new Date(next.opensAt) },
      input.planEveryMinutes * 60_000,
    );
    await wf.condition(() => wavesChanged, Math.max(MIN_WAIT_MS, wake.at.getTime() - Date.now()), {
      summary: wakeUpSummary(wake),
    });
  }
  return wf.continueAsNew<typeof waveRelease>(input);
}
