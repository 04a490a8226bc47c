// One Temporal Schedule per payout frequency starts that frequency's payout cycle. Created when the
// worker starts (an existing schedule is left as it is, so ops can pause or edit it in the UI).
// Overlap: skip, so a cycle never starts while the previous one of the same schedule still runs;
// a cycle started by hand meanwhile finds the running one and ends (see workflows/payout-cycle.ts).
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import { PAYOUT_FREQUENCIES, type PayoutFrequency } from '../domain/partner-settings.ts';
import {
  payoutCycleStart,
  payoutScheduleId,
  scheduledCycleId,
  type PayoutCycleInput,
} from '../contracts/payout-cycle.ts';

/** When each frequency's cycle runs (UTC). */
export const PAYOUT_SCHEDULE_SPECS: Record<PayoutFrequency, ScheduleSpec> = {
  weekly: { cronExpressions: ['0 6 * * 1'] }, // Mondays 06:00
  biweekly: { intervals: [{ every: '14 days', offset: '102 hours' }] }, // every other Monday 06:00 (the epoch was a Thursday)
  monthly: { cronExpressions: ['0 6 1 * *'] }, // the 1st, 06:00
  quarterly: { cronExpressions: ['0 6 1 1,4,7,10 *'] },
};

/** `prefix` keeps schedules of separate deployments (or tests) sharing one namespace apart. */
export async function ensurePayoutSchedules(client: Client, taskQueue: string, prefix = ''): Promise<string[]> {
  const created: string[] = [];
  for (const frequency of PAYOUT_FREQUENCIES) {
    const scheduleId = payoutScheduleId(frequency, prefix);
    const input: PayoutCycleInput = {
      frequencies: [frequency],
      trigger: 'schedule',
      requestedBy: `schedule:${scheduleId}`,
    };
    const start = payoutCycleStart(scheduledCycleId(frequency, prefix), input);
    try {
      await client.schedule.create({
        scheduleId,
        spec: PAYOUT_SCHEDULE_SPECS[frequency],
        action: {
          type: 'startWorkflow',
          workflowType: start.workflowType,
          workflowId: start.workflowId,
          taskQueue,
          args: start.args,
          typedSearchAttributes: start.searchAttributes,
          staticSummary: start.summary,
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      });
      created.push(scheduleId);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
  }
  return created;
}
