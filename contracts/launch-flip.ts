// The contract of the launch flip workflow: started once per deployment by the transaction that
// made the program public (through the outbox), followed by admins through its progress query.
import { defineQuery } from '@temporalio/workflow';
import type { OutboxSubject, WorkflowStart } from './workflow-start.ts';

export const LAUNCH_FLIP_TYPE = 'launchFlip';
/** The outbox row that starts the flip names the launch record (one per deployment). */
export const LAUNCH_SUBJECT: OutboxSubject = 'launch';
export const LAUNCH_SUBJECT_ID = 'launch';

/** The task queue a deployment runs on unless TEMPORAL_TASK_QUEUE says otherwise (platform/env.ts). */
const DEFAULT_TASK_QUEUE = 'referral-graph';

/**
 * One flip per deployment, `launch-flip`. Deployments sharing a Temporal namespace on other task
 * queues (each test file, each bench) get `launch-flip:<taskQueue>`, so their flips stay apart.
 */
export function launchFlipWorkflowId(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE ? 'launch-flip' : `launch-flip:${taskQueue}`;
}

/** Who approved the partners the flip enrolls, as their `approvedBy` says: the flip itself. */
export const LAUNCH_APPROVER = 'launch-flip';

/** Where the flip stands, as the record says. */
export type LaunchTotals = { total: number; converted: number; skipped: number; partnersEnrolled: number };

export type LaunchFlipInput = {
  /** When the program went public (the message each edge receives carries it). */
  changedAt: string;
  pageSize?: number;
  pagesPerRun?: number;
  /** Carried across continue-as-new: the last edge id told (null: none yet), and the totals. */
  after?: string | null;
  totals?: LaunchTotals;
  runs?: number;
  /**
   * Carried across continue-as-new while the flip admits the waitlist (launch-admits-waitlist-v1):
   * true in the runs that go on admitting (the partners enrolled already).
   */
  admitting?: boolean;
};

/** One page of the waitlist's admission, as the record says after it. */
export type LaunchAdmissionPage = {
  /** Admitted by this page. */
  admitted: number;
  /** Admitted by the flip so far. */
  waitlistAdmitted: number;
  /** Nobody waits any more: signups are active at once from now on. */
  done: boolean;
};

export type LaunchFlipProgress = {
  status: 'running' | 'completed';
  runs: number;
  after: string | null;
  totals: LaunchTotals | null;
  /** The waitlist's admission (launch-admits-waitlist-v1): admitted so far, and whether it has finished. */
  admission?: { waitlistAdmitted: number; done: boolean };
};

export const launchProgressQuery = defineQuery<LaunchFlipProgress>('progress');

export function launchFlipStart(workflowId: string, input: LaunchFlipInput): WorkflowStart {
  return {
    workflowId,
    workflowType: LAUNCH_FLIP_TYPE,
    args: [input],
    searchAttributes: [],
    summary: `launch flip: the program went public at ${input.changedAt}; admitting the waitlist, telling every beta edge`,
  };
}
