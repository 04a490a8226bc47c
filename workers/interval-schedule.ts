// A deployment's periodic workflow as a Temporal Schedule, created when the worker starts: one run
// every interval, overlap skip (a run never starts while the previous one runs), and a worker down
// for a while catches up with one run, not one per missed interval. An existing Schedule is left as
// ops set it (paused, say), but for its interval, arguments and summary, brought to the setting
// when its interval differs.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { WorkflowStart } from '../contracts/workflow-start.ts';

export type ScheduleAtStart = { scheduleId: string; outcome: 'created' | 'updated' | 'unchanged' };

export async function ensureIntervalSchedule(
  client: Client,
  scheduleId: string,
  start: WorkflowStart,
  opts: { taskQueue: string; everyMinutes: number },
): Promise<ScheduleAtStart> {
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
