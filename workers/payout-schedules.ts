// One Temporal Schedule per payout frequency starts that frequency's payout cycle. Created when the
// worker starts (an existing schedule is left as it is, so ops can pause or edit it in the UI).
// Overlap: skip, so a cycle never starts while the previous one of the same schedule still runs;
// a cycle started by hand meanwhile finds the running one and ends (see workflows/payout-cycle.ts).
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import { PAYOUT_FREQUENCIES, type PayoutFrequency } from '../domain/partner-settings.ts';
import type { PayoutCycleInput } from '../contracts/payout-cycle.ts';

/** When each frequency's cycle runs (UTC). */
export const PAYOUT_SCHEDULE_SPECS: Record<PayoutFrequency, ScheduleSpec> = {
  weekly: { cronExpressions: ['0 6 * * 1'] }, // Mondays 06:00
  biweekly: { intervals: [{ every: '14 days', offset: '102 hours' }] }, // every other Monday 06:00 (the epoch was a Thursday)
  monthly: { cronExpressions: ['0 6 1 * *'] }, // the 1st, 06:00
  quarterly: { cronExpressions: ['0 6 1 1,4,7,10 *'] },
};

export const payoutScheduleId = (frequency: PayoutFrequency, prefix = '') => `${prefix}payouts-${frequency}`;

/** `prefix` keeps schedules of separate deployments (or tests) sharing one namespace apart. */
export async function ensurePayoutSchedules(client: Client, taskQueue: string, prefix = ''): Promise<string[]> {
  const created: string[] = [];
  for (const frequency of PAYOUT_FREQUENCIES) {
    const input: PayoutCycleInput = { frequencies: [frequency], trigger: 'schedule', requestedBy: `schedule:${payoutScheduleId(frequency, prefix)}` };
    try {
      await client.schedule.create({
        scheduleId: payoutScheduleId(frequency, prefix),
        spec: PAYOUT_SCHEDULE_SPECS[frequency],
        action: { type: 'startWorkflow', workflowType: 'payoutCycle', workflowId: `payout-cycle:${prefix}${frequency}`, taskQueue, args: [input] },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      });
      created.push(payoutScheduleId(frequency, prefix));
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
  }
  return created;
}
