// The `waves-release` Schedule: every few minutes (WAVE_RELEASE_EVERY_MINUTES) it starts the
// wave-release workflow, which admits the waves whose time has come and plans the next. Created when
// the worker starts; an existing schedule is left as it is, so ops can pause or edit it in the UI.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export const waveScheduleId = (prefix = '') => `${prefix}waves-release`;

/** Creates the schedule unless it exists; true when it was created now. */
export async function ensureWaveSchedule(client: Client, taskQueue: string, everyMinutes: number, prefix = ''): Promise<boolean> {
  try {
    await client.schedule.create({
      scheduleId: waveScheduleId(prefix),
      spec: { intervals: [{ every: `${everyMinutes} minutes` }] },
      action: { type: 'startWorkflow', workflowType: 'waveRelease', workflowId: `${prefix}wave-release`, taskQueue, args: [] },
      // A tick missed while the server was down runs once when it is back (within an hour).
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    });
    return true;
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return false;
    throw err;
  }
}
