// The deployment's wave release at worker start: the long-running `wave-release:<key>` workflow is
// started unless it runs, and the `waves-release` Schedule that used to start a run every few
// minutes is deleted, so it stops ticking (its last run, if any, finishes its one round).
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { legacyWaveScheduleId, waveReleaseStart } from '../contracts/wave-release.ts';
import { startOnce } from '../platform/workflow-delivery.ts';

export type WaveReleaseAtStart = { workflowId: string; running: boolean; scheduleDeleted: boolean };

/**
 * `key`: the deployment's (its task queue unless given); `legacyPrefix`: the retired Schedule's
 * prefix. A release that had ended (ops terminated it) is started again.
 */
export async function ensureWaveRelease(
  client: Client,
  opts: { taskQueue: string; planEveryMinutes: number; key?: string; legacyPrefix?: string },
): Promise<WaveReleaseAtStart> {
  const start = waveReleaseStart(opts.key ?? opts.taskQueue, { planEveryMinutes: opts.planEveryMinutes });
  await startOnce(client, start, opts.taskQueue);
  let scheduleDeleted = true;
  try {
    await client.schedule.getHandle(legacyWaveScheduleId(opts.legacyPrefix)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    scheduleDeleted = false;
  }
  const { status } = await client.workflow.getHandle(start.workflowId).describe();
  return { workflowId: start.workflowId, running: status.name === 'RUNNING', scheduleDeleted };
}
