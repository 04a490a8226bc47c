// How an edge's workflow is started: one function, used by the outbox write at signup and by
// signal-with-start when an event reaches an edge whose workflow the relay has not started yet.
import { edgeWorkflowId } from '../domain/edge.ts';
import type { EdgeLifecycleInput } from '../domain/lifecycle.ts';
import type { EdgeRow } from '../db/users.ts';
import type { WorkflowStart } from '../db/outbox.ts';
import { edgeSearchAttributes } from '../workflows/search-attributes.ts';

export const EDGE_WORKFLOW_TYPE = 'referralLifecycle';

export function edgeLifecycleInput(edge: Pick<EdgeRow, 'id' | 'referrer_id' | 'referee_id' | 'kind' | 'source' | 'phase_at_write' | 'created_at'>, activationWindowDays: number, partnerId: string | null = null): EdgeLifecycleInput {
  return {
    edgeId: edge.id,
    referrerId: edge.referrer_id,
    refereeId: edge.referee_id,
    partnerId,
    kind: edge.kind,
    source: edge.source,
    phase: edge.phase_at_write,
    writtenAt: edge.created_at.toISOString(),
    activationWindowDays,
  };
}

export function edgeLifecycleStart(input: EdgeLifecycleInput): WorkflowStart {
  return {
    workflowId: edgeWorkflowId(input.refereeId),
    workflowType: EDGE_WORKFLOW_TYPE,
    args: [input],
    searchAttributes: edgeSearchAttributes(input, 'awaiting_activation'),
  };
}
