// One Whop reconciliation, started by the deployment's Schedule (workers/whop-schedule.ts): payments
// first, then refunds, a page per activity until each stream is caught up. The place is the cursor
// in PostgreSQL, moved by each page's activity, so a rate limit (retried after Whop's hint), a crash
// or the next run picks up where it stopped. A run that keeps failing ends failed, for ops to see.
import * as wf from '@temporalio/workflow';
import type { WhopActivities } from '../activities/whop.ts';
import {
  WHOP_STREAMS,
  type WhopReconciliationInput,
  type WhopReconciliationOutcome,
} from '../contracts/whop-reconciliation.ts';

const whop = wf.proxyActivities<WhopActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '2 minutes', maximumAttempts: 20 },
});

/** Pages one run reads at most (the next run goes on from the cursor). */
const MAX_PAGES = 2_000;

export async function whopReconciliation(input: WhopReconciliationInput): Promise<WhopReconciliationOutcome> {
  const total: WhopReconciliationOutcome = { pages: 0, items: 0, recorded: 0, known: 0, issues: 0 };
  for (const stream of WHOP_STREAMS) {
    for (let done = false; !done && total.pages < MAX_PAGES;) {
      const page = await whop.reconcileWhopPage({ stream, pageSize: input.pageSize ?? 100 });
      total.pages += 1;
      total.items += page.items;
      total.recorded += page.recorded;
      total.known += page.known;
      total.issues += page.issues;
      done = page.done;
    }
  }
  return total;
}
