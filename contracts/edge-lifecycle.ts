// The contract of the edge lifecycle workflow, `edge:<refereeId>`: its type name, id, messages,
// query, input, search attributes and summary. The only place these names are spelled; SQL gets
// them as parameters.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { EdgeKind as Kind, EdgeSource, ProgramPhase as Phase } from '../domain/edge.ts';
import type {
  ActivationEvent,
  EdgeLifecycleInput,
  EdgeLifecycleView,
  LifecycleState as State,
  PaymentEvent,
  PhaseChangedEvent,
  RefundEvent,
  VerdictEvent,
} from '../domain/lifecycle.ts';
import { EdgeKind, LifecycleState, PartnerId, ProgramPhase, RefereeId, ReferrerId } from './search-attributes.ts';
import type { OutboxSubject, WorkflowStart } from './workflow-start.ts';

export type { EdgeLifecycleInput, EdgeLifecycleView } from '../domain/lifecycle.ts';

export const EDGE_LIFECYCLE_TYPE = 'referralLifecycle';
/** Outbox rows about an edge name it by its edge id. */
export const EDGE_SUBJECT: OutboxSubject = 'edge';

/** One workflow per referee (one edge per referee): a start or a message for it never makes two. */
export const edgeWorkflowId = (refereeId: string) => `edge:${refereeId}`;

export const activatedSignal = defineSignal<[ActivationEvent]>('activated');
export const paymentSignal = defineSignal<[PaymentEvent]>('payment');
export const refundSignal = defineSignal<[RefundEvent]>('refund');
export const verdictSignal = defineSignal<[VerdictEvent]>('verdict');
export const phaseChangedSignal = defineSignal<[PhaseChangedEvent]>('phaseChanged');
export const stateQuery = defineQuery<EdgeLifecycleView>('state');

/** An edge as PostgreSQL holds it: what its workflow's input is built from. */
export type EdgeFacts = {
  id: string;
  referrer_id: string;
  referee_id: string;
  kind: Kind;
  source: EdgeSource;
  phase_at_write: Phase;
  created_at: Date;
  activation_window_days: number;
};

/**
 * The input from the edge's current row; `partnerId`: the referrer's approved partner tenant for an intentional edge.
 */
export function edgeLifecycleInput(edge: EdgeFacts, partnerId: string | null): EdgeLifecycleInput {
  return {
    edgeId: edge.id,
    referrerId: edge.referrer_id,
    refereeId: edge.referee_id,
    partnerId: edge.kind === 'intentional' ? partnerId : null,
    kind: edge.kind,
    source: edge.source,
    phase: edge.phase_at_write,
    writtenAt: edge.created_at.toISOString(),
    activationWindowDays: edge.activation_window_days,
  };
}

/** What ops find an edge by in the Temporal UI. */
export function edgeSearchAttributes(input: EdgeLifecycleInput, state: State): SearchAttributePair[] {
  return [
    { key: ReferrerId, value: input.referrerId },
    { key: RefereeId, value: input.refereeId },
    ...(input.partnerId ? [{ key: PartnerId, value: input.partnerId }] : []),
    { key: EdgeKind, value: input.kind },
    { key: ProgramPhase, value: input.phase },
    { key: LifecycleState, value: state },
  ];
}

/** The line the Temporal UI shows for the run. */
export function edgeSummary(input: EdgeLifecycleInput): string {
  const partner = input.partnerId ? `, partner ${input.partnerId}` : '';
  return `edge ${input.referrerId} -> ${input.refereeId}${partner}, ${input.kind} (${input.source}, written in ${input.phase})`;
}

export function edgeLifecycleStart(input: EdgeLifecycleInput): WorkflowStart {
  return {
    workflowId: edgeWorkflowId(input.refereeId),
    workflowType: EDGE_LIFECYCLE_TYPE,
    args: [input],
    searchAttributes: edgeSearchAttributes(input, 'awaiting_activation'),
    summary: edgeSummary(input),
  };
}
