// The deployment's fraud ring scan Schedule, created when the worker starts: a scan every
// FRAUD_RING_SCAN_EVERY_MINUTES, overlap skip (a scan never starts while the previous one runs).
// An existing Schedule is left as ops set it (paused, say), but for its interval and the summary
// naming it, brought to the setting when they differ.
import type { Client } from '@temporalio/client';
import { ensureIntervalSchedule, type ScheduleAtStart } from './interval-schedule.ts';
import { fraudRingScanScheduleId, fraudRingScanStart } from '../contracts/fraud-ring-scan.ts';

export type FraudRingScheduleAtStart = ScheduleAtStart;

/** `key`: the deployment's (its task queue unless given). */
export async function ensureFraudRingSchedule(
  client: Client,
  opts: { taskQueue: string; everyMinutes: number; key?: string },
): Promise<FraudRingScheduleAtStart> {
  const key = opts.key ?? opts.taskQueue;
  const scheduleId = fraudRingScanScheduleId(key);
  const start = fraudRingScanStart(key, { everyMinutes: opts.everyMinutes });
  return ensureIntervalSchedule(client, scheduleId, start, opts);
}
