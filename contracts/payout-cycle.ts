// The contract of the payout cycle workflow: started by a Schedule per payout frequency or by
// finance, `payout-cycle:<cycleId>`; followed through its progress query.
import { defineQuery } from '@temporalio/workflow';
import type { PayoutFrequency } from '../domain/partner-settings.ts';
import type { WorkflowStart } from './workflow-start.ts';

export const PAYOUT_CYCLE_TYPE = 'payoutCycle';

const PREFIX = 'payout-cycle:';
export const payoutCycleWorkflowId = (cycleId: string) => `${PREFIX}${cycleId}`;
/** A cycle's id: the workflow id without its prefix (a Schedule appends the time to the id it is given). */
export const cycleIdOf = (workflowId: string) =>
  workflowId.startsWith(PREFIX) ? workflowId.slice(PREFIX.length) : workflowId;
/** A cycle finance starts by hand. */
export const manualCycleId = (at: Date) => `manual-${at.toISOString()}`;
/** The Schedule of one payout frequency; `prefix` keeps deployments (or tests) sharing a namespace apart. */
export const payoutScheduleId = (frequency: PayoutFrequency, prefix = '') => `${prefix}payouts-${frequency}`;
/** The id a payout Schedule starts its cycles under (the Schedule appends the time). */
export const scheduledCycleId = (frequency: PayoutFrequency, prefix = '') => `${prefix}${frequency}`;

export type CycleTotals = {
  seen: number;
  paid: number;
  paidCents: number;
  failed: number;
  awaitingManual: number;
  rolledForward: number;
  skipped: number;
};
export const NO_CYCLE_TOTALS: Readonly<CycleTotals> = {
  seen: 0,
  paid: 0,
  paidCents: 0,
  failed: 0,
  awaitingManual: 0,
  rolledForward: 0,
  skipped: 0,
};
export type CycleProgress = {
  cycleId: string;
  status: 'running' | 'completed' | 'skipped';
  runningCycleId?: string;
  totals: CycleTotals;
};

export type PayoutCycleInput = {
  frequencies: PayoutFrequency[];
  trigger: 'schedule' | 'manual';
  requestedBy: string;
  /** Set on the first run (from the workflow id and start time) and carried across continue-as-new. */
  cycleId?: string;
  at?: string;
  after?: string | null;
  totals?: CycleTotals;
  pageSize?: number;
};

export const progressQuery = defineQuery<CycleProgress>('progress');

export function payoutCycleSummary(input: PayoutCycleInput): string {
  return `payout cycle (${input.trigger}, by ${input.requestedBy}): ${input.frequencies.join(', ')} partners`;
}

export function payoutCycleStart(cycleId: string, input: PayoutCycleInput): WorkflowStart {
  return {
    workflowId: payoutCycleWorkflowId(cycleId),
    workflowType: PAYOUT_CYCLE_TYPE,
    args: [input],
    searchAttributes: [],
    summary: payoutCycleSummary(input),
  };
}
