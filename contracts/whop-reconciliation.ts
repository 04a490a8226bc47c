// The contract of the Whop reconciliation, `whop-reconciliation:<key>-<time>`: started by a Schedule
// of the deployment every WHOP_RECONCILE_EVERY_MINUTES (its key is the deployment's task queue, so
// deployments and tests sharing a namespace stay apart; the Schedule appends the time). One run pages
// through Whop's payments and refunds since its cursor (kept in PostgreSQL page by page), records
// what the ledger misses, and lists what it cannot explain.
import type { WorkflowStart } from './workflow-start.ts';

export const WHOP_RECONCILIATION_TYPE = 'whopReconciliation';

/** The id the Schedule starts its runs under (it appends the time). */
export const whopReconciliationWorkflowId = (key: string) => `whop-reconciliation:${key}`;
/** The deployment's Schedule. */
export const whopReconciliationScheduleId = (key: string) => `whop-reconciliations-${key}`;

/** What one run goes through, in order: payments, refunds, then recurring overrides whose windows closed. */
export const WHOP_STREAMS = ['payments', 'refunds', 'overrides'] as const;
export type WhopStream = (typeof WHOP_STREAMS)[number];

export type WhopReconciliationInput = {
  /** How often the Schedule starts a run (for the summary ops read). */
  everyMinutes: number;
  /** Items per Whop page (default 100, Whop's maximum). */
  pageSize?: number;
};

/** What one page of one stream did. */
export type WhopPageOutcome = {
  stream: WhopStream;
  items: number;
  /** Recorded now (a payment or refund the ledger missed; an override brought back to the first payment). */
  recorded: number;
  /** Already recorded (by a webhook or an earlier pass): nothing changed. */
  known: number;
  /** Recorded as issues (GET /v1/admin/whop/reconciliation). */
  issues: number;
  /** No page after this one: the stream is caught up. */
  done: boolean;
};

export type WhopReconciliationOutcome = {
  pages: number;
  items: number;
  recorded: number;
  known: number;
  issues: number;
};

export function whopReconciliationSummary(input: WhopReconciliationInput): string {
  return `Whop reconciliation: payments and refunds since the last cursor, every ${input.everyMinutes} min`;
}

/** What the Schedule starts (`key`: the deployment's task queue). */
export function whopReconciliationStart(key: string, input: WhopReconciliationInput): WorkflowStart {
  return {
    workflowId: whopReconciliationWorkflowId(key),
    workflowType: WHOP_RECONCILIATION_TYPE,
    args: [input],
    searchAttributes: [],
    summary: whopReconciliationSummary(input),
  };
}
