// One edge as support needs to see it, without the Temporal UI: its row, where its workflow is
// (asked live; from PostgreSQL's stamps and verdicts when the workflow cannot answer), its money
// (the ledger's, never the workflow's running totals), its verdicts and its payments.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { edgeWorkflowId, stateQuery, type EdgeLifecycleView } from '../contracts/edge-lifecycle.ts';
import { partnerEarnings, userCredits } from '../domain/ledger-postings.ts';
import { activationDeadline, type LifecycleState, type WaitingFor } from '../domain/lifecycle.ts';
import { stateFromStamps } from '../domain/edge-state.ts';
import {
  edgeLedgerSums,
  edgePayments,
  edgeVerdicts,
  findEdgeForStatus,
  type EdgePaymentSummary,
  type EdgeStatusRow,
} from '../db/edge-status.ts';
import type { VerdictRow } from '../db/verdicts.ts';
import type { Logger } from '../platform/logger.ts';
import { notFound } from './errors.ts';

export type EdgeStatusDeps = { db: DatabasePool; temporal: Client; log: Logger };

/** Long enough for a busy worker to answer; short enough that a support page does not hang on a down worker. */
export const STATE_QUERY_TIMEOUT_MS = 2_000;
export const RECENT_PAYMENTS = 10;

export type WorkflowStatus = {
  /** 'workflow': its live answer; 'database': derived from PostgreSQL because it could not answer. */
  source: 'workflow' | 'database';
  /** Why the database answered: the relay has not started the workflow yet, or Temporal did not answer. */
  unavailable: 'not_started' | 'unreachable' | null;
  workflowId: string;
  state: LifecycleState;
  waitingFor: WaitingFor | null;
  activationDeadline: string;
  activatedAt: string | null;
  /** Null also when the database answered: the window is only known to the workflow. */
  commissionWindowEndsAt: string | null;
  hold: { reason: string; since: string } | null;
};

export type EdgeMoney = { earnedCents: number; pendingCents: number; payableCents: number; credits: number };

export type EdgeStatus = {
  edge: EdgeStatusRow;
  workflow: WorkflowStatus;
  money: EdgeMoney;
  verdicts: readonly VerdictRow[];
  payments: EdgePaymentSummary;
};

/**
 * The edge, for a caller allowed to see edges whose referrer is in the given tenant; an edge the
 * caller may not see is as missing as one that does not exist.
 */
export async function edgeStatus(
  deps: EdgeStatusDeps,
  edgeId: string,
  maySee: (referrerTenantId: string) => boolean,
): Promise<EdgeStatus> {
  const edge = await findEdgeForStatus(deps.db, edgeId);
  if (!edge || !maySee(edge.referrer_tenant_id)) throw notFound('edge_not_found', `No edge ${edgeId}.`);
  // The workflow first: it posts to the ledger before it moves on, so PostgreSQL read after it is at
  // least as far along (a payment the state counts is in the money).
  const live = await liveState(deps, edge);
  const [verdicts, payments, money] = await Promise.all([
    edgeVerdicts(deps.db, edge.id),
    edgePayments(deps.db, edge.id, RECENT_PAYMENTS),
    edgeMoney(deps, edge),
  ]);
  const workflow = 'unavailable' in live ? derivedState(edge, live.unavailable, verdicts, payments) : live.workflow;
  return { edge, workflow, money, verdicts, payments };
}

/**
 * Cash is posted to the referrer's tenant's earnings accounts, credits to the referrer. Earned is
 * pending plus payable, net of clawbacks; payouts are per tenant, not per edge, so part of an
 * edge's payable may since have been paid out.
 */
async function edgeMoney(deps: EdgeStatusDeps, edge: EdgeStatusRow): Promise<EdgeMoney> {
  const sums = await edgeLedgerSums(deps.db, edge.id, {
    pending: partnerEarnings(edge.referrer_tenant_id, 'pending'),
    payable: partnerEarnings(edge.referrer_tenant_id, 'payable'),
    credits: userCredits(edge.referrer_id),
  });
  return {
    earnedCents: sums.pending + sums.payable,
    pendingCents: sums.pending,
    payableCents: sums.payable,
    credits: sums.credits,
  };
}

/** The workflow's own answer, or why it gave none. */
async function liveState(
  deps: EdgeStatusDeps,
  edge: EdgeStatusRow,
): Promise<{ workflow: WorkflowStatus } | { unavailable: 'not_started' | 'unreachable' }> {
  const workflowId = edgeWorkflowId(edge.referee_id);
  try {
    const handle = deps.temporal.workflow.getHandle(workflowId);
    const view = await deps.temporal.connection.withDeadline(Date.now() + STATE_QUERY_TIMEOUT_MS, () =>
      handle.query(stateQuery),
    );
    return { workflow: fromWorkflow(workflowId, view) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { unavailable: 'not_started' };
    deps.log.warn({ err, workflowId }, 'edge state query failed; answering from PostgreSQL');
    return { unavailable: 'unreachable' };
  }
}

function derivedState(
  edge: EdgeStatusRow,
  unavailable: 'not_started' | 'unreachable',
  verdicts: readonly VerdictRow[],
  payments: EdgePaymentSummary,
): WorkflowStatus {
  const workflowId = edgeWorkflowId(edge.referee_id);
  return {
    source: 'database',
    unavailable,
    workflowId,
    ...stateFromStamps(edge, verdicts, (payments.counts.earned ?? 0) + (payments.counts.forfeited ?? 0)),
    activationDeadline: activationDeadline(edge.created_at, edge.activation_window_days).toISOString(),
    activatedAt: edge.activated_at?.toISOString() ?? null,
    commissionWindowEndsAt: null,
  };
}

function fromWorkflow(workflowId: string, view: EdgeLifecycleView): WorkflowStatus {
  return {
    source: 'workflow',
    unavailable: null,
    workflowId,
    state: view.state,
    waitingFor: view.waitingFor,
    activationDeadline: view.activationDeadline,
    activatedAt: view.activatedAt,
    commissionWindowEndsAt: view.commissionWindowEndsAt,
    hold: view.hold,
  };
}
