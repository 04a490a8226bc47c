// The deployment's Whop reconciliation Schedule, created when the worker starts (when Whop is
// configured): a run every WHOP_RECONCILE_EVERY_MINUTES, overlap skip (a run never starts while the
// previous one runs). An existing Schedule is left as ops set it (paused, say), but for its interval
// and summary, brought to the setting when they differ.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { whopReconciliationScheduleId, whopReconciliationStart } from '../contracts/whop-reconciliation.ts';

export async function ensureWhopReconciliationSchedule(
  client: Client,
  opts: { taskQueue: string; everyMinutes: number; key?: string; pageSize?: number },
): Promise<{ scheduleId: string; outcome: 'created' | 'updated' | 'unchanged' }> {
  const key = opts.key ?? opts.taskQueue;
  const scheduleId = whopReconciliationScheduleId(key);
  const start = whopReconciliationStart(key, {
    everyMinutes: opts.everyMinutes,
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
  });
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
