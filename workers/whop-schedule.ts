// The deployment's Whop reconciliation Schedule, created when the worker starts (when Whop is
// configured): a run every WHOP_RECONCILE_EVERY_MINUTES, overlap skip (a run never starts while the
// previous one runs). An existing Schedule is left as ops set it (paused, say), but for its interval
// and summary, brought to the setting when they differ.
import type { Client } from '@temporalio/client';
import { ensureIntervalSchedule, type ScheduleAtStart } from './interval-schedule.ts';
import { whopReconciliationScheduleId, whopReconciliationStart } from '../contracts/whop-reconciliation.ts';

export async function ensureWhopReconciliationSchedule(
  client: Client,
  opts: { taskQueue: string; everyMinutes: number; key?: string; pageSize?: number },
): Promise<ScheduleAtStart> {
  const key = opts.key ?? opts.taskQueue;
  const scheduleId = whopReconciliationScheduleId(key);
  const start = whopReconciliationStart(key, {
    everyMinutes: opts.everyMinutes,
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
  });
  return ensureIntervalSchedule(client, scheduleId, start, opts);
}
