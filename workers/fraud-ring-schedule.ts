// The deployment's fraud ring scan Schedule, created when the worker starts: a scan every
// FRAUD_RING_SCAN_EVERY_MINUTES, overlap skip (a scan never starts while the previous one runs).
// An existing Schedule is left as ops set it (paused, say), but for its interval and the summary
// naming it, brought to the setting when they differ.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { fraudRingScanScheduleId, fraudRingScanStart } from '../contracts/fraud-ring-scan.ts';

export type FraudRingScheduleAtStart = { scheduleId: string; outcome: 'created' | 'updated' | 'unchanged' };

/** `key`: the deployment's (its task queue unless given). */
export async function ensureFraudRingSchedule(
  client: Client,
  opts: { taskQueue: string; everyMinutes: number; key?: string },
): Promise<FraudRingScheduleAtStart> {
  const key = opts.key ?? opts.taskQueue;
  const scheduleId = fraudRingScanScheduleId(key);
  const start = fraudRingScanStart(key, { everyMinutes: opts.everyMinutes });
  const every = opts.everyMinutes * 60_000;
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every }] },
      action: {
        type: 'startWorkflow',
        workflowType: start.workflowType,
        workflowId: start.workflowId,
        taskQueue: opts.taskQueue,
        args: start.args,
        typedSearchAttributes: start.searchAttributes,
        staticSummary: start.summary,
      },
      // A worker down for a while catches up with one scan, not one per missed interval.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every },
    });
    return { scheduleId, outcome: 'created' };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  if (current.spec.intervals?.length === 1 && current.spec.intervals[0]!.every === every)
    return { scheduleId, outcome: 'unchanged' };
  await handle.update((previous) => ({
    ...previous,
    spec: { intervals: [{ every }] },
    action: { ...previous.action, args: start.args, staticSummary: start.summary },
    policies: { ...previous.policies, catchupWindow: every },
  }));
  return { scheduleId, outcome: 'updated' };
}
