// A payout cycle: pages through the partners it pays (by tenant id), one activity per page that
// pays that page with bounded concurrency, and continues as new every few pages, so 10,000
// partners are neither 10,000 round trips nor one giant history. Started by a Schedule per payout
// frequency or by finance; only one cycle runs at a time (a second finds the first and ends).
import * as wf from '@temporalio/workflow';
import type { PageResult, PayoutActivities } from '../activities/payouts.ts';
import {
  NO_CYCLE_TOTALS,
  cycleIdOf,
  progressQuery,
  type CycleProgress,
  type CycleTotals,
  type PayoutCycleInput,
} from '../contracts/payout-cycle.ts';

const PAGES_PER_RUN = 20;

const payouts = wf.proxyActivities<PayoutActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  // What is left to retry is transient (Stripe 429/5xx, the network, PostgreSQL away); about a day
  // of it (3,000 tries at most 30 s apart) outlasts any outage that does not need a person.
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 3_000 },
});

export async function payoutCycle(input: PayoutCycleInput): Promise<CycleProgress> {
  const cycleId = input.cycleId ?? cycleIdOf(wf.workflowInfo().workflowId);
  const at = input.at ?? new Date(Date.now()).toISOString();
  const totals: CycleTotals = input.totals ?? { ...NO_CYCLE_TOTALS };
  const progress: CycleProgress = { cycleId, status: 'running', totals };
  wf.setHandler(progressQuery, () => progress);

  if (input.after === undefined) {
    const opened = await payouts.openPayoutCycle({
      cycleId,
      frequencies: input.frequencies,
      trigger: input.trigger,
      requestedBy: input.requestedBy,
    });
    if (!opened.opened) return { ...progress, status: 'skipped', runningCycleId: opened.runningCycleId };
  }

  let after = input.after ?? null;
  for (let page = 0; ; page++) {
    if (page === PAGES_PER_RUN) {
      return wf.continueAsNew<typeof payoutCycle>({ ...input, cycleId, at, after, totals });
    }
    let result: PageResult;
    try {
      result = await payouts.payPage({
        cycleId,
        frequencies: input.frequencies,
        at,
        after,
        limit: input.pageSize ?? 500,
      });
    } catch (err) {
      // A cycle left running would refuse every later cycle, and a later cycle of the same period
      // resumes this one's payouts: end it as failed, then fail so ops see why in the Temporal UI.
      await payouts.closePayoutCycle({ cycleId, failed: true }).catch(() => undefined);
      throw err;
    }
    if (result.seen === 0) break;
    for (const key of Object.keys(totals) as (keyof CycleTotals)[]) totals[key] += result[key];
    after = result.last;
  }
  await payouts.closePayoutCycle({ cycleId });
  progress.status = 'completed';
  return progress;
}
