// How an edge's workflow is started: one function, used by the outbox write at signup and by
// signal-with-start when an event reaches an edge whose workflow the relay has not started yet.
import { randomUUID } from 'node:crypto';
import { edgeKindFor, edgeWorkflowId, type EdgeSource } from '../domain/edge.ts';
import type { EdgeToWrite, Referrer } from '../db/graph.ts';
import { invalid } from './errors.ts';
import type { EdgeLifecycleInput } from '../domain/lifecycle.ts';
import type { EdgeRow } from '../db/users.ts';
import type { RecordedStart as WorkflowStart } from '../db/outbox.ts';
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

/** The edge a referrer's link or code writes for a referee, with the workflow that will carry it. */
export function edgeFrom(referrer: Referrer, refereeId: string, source: EdgeSource, code: string | null, createdAt: Date, activationWindowDays: number): EdgeToWrite {
  const isPartner = referrer.partner_tenant_id !== null && referrer.partner_approved && referrer.partner_active;
  const kind = edgeKindFor({ phase: referrer.phase, source, referrerIsApprovedPartner: isPartner });
  const id = randomUUID();
  const row = { id, referrer_id: referrer.id, referee_id: refereeId, kind, source, phase_at_write: referrer.phase, created_at: createdAt };
  return {
    id,
    referrerId: referrer.id,
    refereeId,
    source,
    kind,
    phase: referrer.phase,
    code,
    createdAt,
    workflowStart: edgeLifecycleStart(edgeLifecycleInput(row, activationWindowDays, kind === 'intentional' && isPartner ? referrer.partner_tenant_id : null)),
  };
}

/** How a ref reached the referee: a partner's code (kept on the edge), a listing's share link, or a plain link. */
export function refSource(referrer: Referrer, ref: string, listingId: string | undefined): { source: EdgeSource; code: string | null } {
  if (referrer.via_partner_code) return { source: 'partner_code', code: ref };
  return listingId ? { source: 'listing', code: listingId } : { source: 'link', code: null };
}

/** Partner codes only attribute while their partner is approved and active. */
export function assertReferrerUsable(referrer: Referrer): void {
  if (referrer.via_partner_code && !(referrer.partner_approved && referrer.partner_active)) {
    throw invalid('referrer_not_approved', 'This partner code is not active: its partner is not approved.', 'ref');
  }
}
