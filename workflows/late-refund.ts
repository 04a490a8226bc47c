// A late refund, `late-refund:<refundId>`: the refund reached its payment after the edge's workflow
// had ended, so this short workflow takes back what the payment earned, also after payout (the
// partner's payable balance may go negative; later payouts net it off). One activity, retried
// without end like the edge's own money steps: a PostgreSQL outage delays the clawback, never
// loses it.
import * as wf from '@temporalio/workflow';
import type { LateRefundActivities } from '../activities/late-refund.ts';
import type { LateRefundInput, LateRefundOutcome } from '../contracts/late-refund.ts';

const { takeBackLateRefund } = wf.proxyActivities<LateRefundActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: Infinity },
});

export async function lateRefund(input: LateRefundInput): Promise<LateRefundOutcome> {
  return takeBackLateRefund({ refundId: input.refundId });
}
