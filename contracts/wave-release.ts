// The contract of the wave-release workflow, `wave-release:<key>`: one per deployment (its key is
// the deployment's task queue, so deployments, tests and benches sharing a namespace stay apart),
// running as long as the deployment. Its type name, id, message, input, summaries, and the name of
// the Schedule it replaces.
import { defineSignal } from '@temporalio/workflow';
import type { WakeUp } from '../domain/waves.ts';
import type { WorkflowStart } from './workflow-start.ts';

export const WAVE_RELEASE_TYPE = 'waveRelease';

export const waveReleaseWorkflowId = (key: string) => `wave-release:${key}`;

/** Waves were created or changed: look again now rather than at the next planned wake-up. */
export const wavesChangedSignal = defineSignal('wavesChanged');

export type WaveReleaseInput = {
  /**
   * How often the planner runs (and so, without a `wavesChanged` message, how late a new earlier wave can be noticed).
   */
  planEveryMinutes: number;
  /** Rounds before continuing as new, to keep each run's history short (tests and recordings make it small). */
  roundsPerRun?: number;
};

export function waveReleaseSummary(input: WaveReleaseInput): string {
  return `wave release: admits each wave when it opens, plans the next every ${input.planEveryMinutes} min`;
}

export function waveReleaseStart(key: string, input: WaveReleaseInput): WorkflowStart {
  return {
    workflowId: waveReleaseWorkflowId(key),
    workflowType: WAVE_RELEASE_TYPE,
    args: [input],
    searchAttributes: [],
    summary: waveReleaseSummary(input),
    restartable: true,
  };
}

/** The line the Temporal UI shows on the timer the workflow waits on. */
export function wakeUpSummary(wake: WakeUp): string {
  const why = wake.reason.kind === 'wave_opens' ? `${wake.reason.waveName} opens` : 'the next planning round';
  return `until ${why} at ${wake.at.toISOString()} (or wavesChanged)`;
}

/**
 * Before this workflow ran for good, the `waves-release` Schedule started it every few minutes
 * without input, one round per run, under `wave-release-<time>` ids. The worker deletes the
 * Schedule (`prefix`: as it was created with); a run it started meanwhile still does its one round.
 */
export const legacyWaveScheduleId = (prefix = '') => `${prefix}waves-release`;
