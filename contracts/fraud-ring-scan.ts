// The contract of the fraud ring scan, `fraud-ring-scan:<key>-<time>`: started by a Schedule of the
// deployment every FRAUD_RING_SCAN_EVERY_MINUTES (its key is the deployment's task queue, so
// deployments, tests and benches sharing a namespace stay apart; the Schedule appends the time).
// One run reads the graph, finds the rings and records their verdicts (domain/fraud/rings.ts).
import type { WorkflowStart } from './workflow-start.ts';

export const FRAUD_RING_SCAN_TYPE = 'fraudRingScan';

/** The id the Schedule starts its scans under (it appends the time). */
export const fraudRingScanWorkflowId = (key: string) => `fraud-ring-scan:${key}`;
/** The deployment's Schedule. */
export const fraudRingScanScheduleId = (key: string) => `fraud-ring-scans-${key}`;

export type FraudRingScanInput = {
  /** How often the Schedule starts a scan (for the summary ops read). */
  everyMinutes: number;
};

/** What one scan saw and did. */
export type RingScanOutcome = {
  /** The scan's workflow id, recorded in each verdict's evidence. */
  scanId: string;
  accounts: number;
  referrals: number;
  /** Components with a referral inside, and how many of them are rings. */
  components: number;
  rings: number;
  /** Earning edges inside rings. */
  ringEdges: number;
  /** Rule verdicts written by this scan (a ring's verdict on an edge is written once). */
  verdictsRecorded: number;
  /** Edges held by this scan. */
  held: number;
  /** Ring edges left alone: already held, or voided. */
  alreadyHeldOrVoided: number;
  /** Ring edges a reviewer cleared after this same ring held them: not held again until the ring grows. */
  clearedBefore: number;
  /** Devices or cards seen on so many accounts they join nobody (placeholders). */
  ignoredValues: number;
  /** Where the time went, in milliseconds: reading the graph, finding the rings, recording. */
  readMs: number;
  findMs: number;
  recordMs: number;
};

export function fraudRingScanSummary(input: FraudRingScanInput): string {
  return `fraud ring scan: accounts joined by shared devices, cards and referrals, every ${input.everyMinutes} min`;
}

/** What the Schedule starts (`key`: the deployment's task queue). */
export function fraudRingScanStart(key: string, input: FraudRingScanInput): WorkflowStart {
  return {
    workflowId: fraudRingScanWorkflowId(key),
    workflowType: FRAUD_RING_SCAN_TYPE,
    args: [input],
    searchAttributes: [],
    summary: fraudRingScanSummary(input),
  };
}
