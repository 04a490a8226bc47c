// The activities an edge's workflow calls, and how they are retried. Attempts are unbounded on
// purpose: a PostgreSQL outage must delay an edge's money, never fail its workflow and lose it. The
// interval is bounded so work resumes within a minute of recovery; what no retry can fix, the
// activities throw as named non-retryable failures (EdgeNotFound, PaymentNotRecorded).
import * as wf from '@temporalio/workflow';
import type { CommissionActivities } from '../activities/commission.ts';
import type { EdgeProgressActivities } from '../activities/edge-progress.ts';
import type { FraudActivities } from '../activities/fraud.ts';

const retry = { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: Infinity } as const;

/** The edge's progress stamped in the graph (vested, expired, completed, voided). */
export const edgeProgress = wf.proxyActivities<EdgeProgressActivities>({ startToCloseTimeout: '30 seconds', retry });

// Short PostgreSQL transactions, run as local activities: inside the workflow task, with no
// activity task round trip through the server per payment (half the history events). One that
// dies with its worker runs again when the workflow task is retried, idempotent by its key.
export const commission = wf.proxyLocalActivities<CommissionActivities>({ startToCloseTimeout: '10 seconds', retry });

/**
 * The fraud rules of a stage run over the edge (edge write, activation, each payment): a few reads
 * and the rule verdicts stored, a local activity like the commission's; a hold or a block comes
 * back with the verdict it wrote, which the workflow applies at once.
 */
export const fraud = wf.proxyLocalActivities<FraudActivities>({ startToCloseTimeout: '10 seconds', retry });
