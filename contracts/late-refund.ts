// The contract of the late refund workflow, `late-refund:<refundId>`: a refund whose payment's edge
// workflow had already ended (it closes 180 days after the edge's last earning payment, or when
// the edge is voided or expires) still takes back what its payment earned, also after payout. One
// short workflow per such refund, started through the outbox (subject `refund`), idempotent by
// the refund id: its clawback has the key the edge's own refund path uses (`clawback:<refundId>`).
import type { SearchAttributePair } from '@temporalio/common';
import type { Earned } from '../domain/commission.ts';
import { RefereeId, ReferrerId } from './search-attributes.ts';
import type { OutboxSubject, WorkflowStart } from './workflow-start.ts';

export const LATE_REFUND_TYPE = 'lateRefund';
/** Outbox rows that start a late refund name the refund by its id. */
export const REFUND_SUBJECT: OutboxSubject = 'refund';

/** One workflow per refund: a second start (a repeat, the sweep at the edge's close) never makes two. */
export const lateRefundWorkflowId = (refundId: string) => `late-refund:${refundId}`;

export type LateRefundInput = { refundId: string; paymentId: string; edgeId: string; amountCents: number };

/** What the late refund did: took back (cash cents and credits), or why it took back nothing. */
export type LateRefundOutcome = {
  refundId: string;
  paymentId: string;
  outcome: 'taken_back' | 'already_taken_back' | 'nothing_earned' | 'nothing_left';
  takenBack: Earned;
  /**
   * The account the cash came out of: payable after release (it may go negative), else pending; for a
   * payment on the whop rail, the partner's earnings_whop (Whop pays and claws back that commission).
   */
  from: 'pending' | 'payable' | 'whop' | null;
};

/** A refund as PostgreSQL holds it, with its payment's edge: what the workflow's start is built from. */
export type LateRefundFacts = {
  refundId: string;
  paymentId: string;
  amountCents: number;
  edgeId: string;
  referrerId: string;
  refereeId: string;
};

export function lateRefundStart(facts: LateRefundFacts): WorkflowStart {
  const input: LateRefundInput = {
    refundId: facts.refundId,
    paymentId: facts.paymentId,
    edgeId: facts.edgeId,
    amountCents: facts.amountCents,
  };
  const searchAttributes: SearchAttributePair[] = [
    { key: ReferrerId, value: facts.referrerId },
    { key: RefereeId, value: facts.refereeId },
  ];
  return {
    workflowId: lateRefundWorkflowId(facts.refundId),
    workflowType: LATE_REFUND_TYPE,
    args: [input],
    searchAttributes,
    summary: `late refund ${facts.refundId}: ${facts.amountCents} cents of payment ${facts.paymentId} on edge ${facts.referrerId} -> ${facts.refereeId}, after its workflow ended`,
  };
}
