// One fraud ring scan, started by the deployment's Schedule (workers/fraud-ring-schedule.ts): one
// activity reads the graph, finds the rings and records their holds. A scan that keeps failing ends
// failed, for ops to see in the Temporal UI; the next one comes at the Schedule's next time.
import * as wf from '@temporalio/workflow';
import type { FraudRingActivities } from '../activities/fraud-rings.ts';
import type { FraudRingScanInput, RingScanOutcome } from '../contracts/fraud-ring-scan.ts';

const rings = wf.proxyActivities<FraudRingActivities>({
  // 100,000 accounts take well under a minute (bench/rings.ts); the margin is for a busy database.
  startToCloseTimeout: '15 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '2 minutes', maximumAttempts: 5 },
});

export async function fraudRingScan(_input: FraudRingScanInput): Promise<RingScanOutcome> {
  return rings.scanFraudRings({ scanId: wf.workflowInfo().workflowId });
}
