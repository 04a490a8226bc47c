// How the workflow an outbox row names is started, built from its subject's current row through
// the subject's workflow contract: the one function the relay, the activation path and the launch
// flip use, so a start never carries a stale copy.
import { EDGE_SUBJECT } from '../contracts/edge-lifecycle.ts';
import { LAUNCH_SUBJECT } from '../contracts/launch-flip.ts';
import { REFUND_SUBJECT } from '../contracts/late-refund.ts';
import type { OutboxSubject, WorkflowStart } from '../contracts/workflow-start.ts';
import { edgeLifecycleStarts } from './edges.ts';
import { launchFlipStartOf } from './launch.ts';
import { lateRefundStarts } from './refunds.ts';
import type { Db } from './pool.ts';

export type Subject = { subject: OutboxSubject; subjectId: string };

export const subjectKey = (s: Subject) => `${s.subject}:${s.subjectId}`;

/** The starts of these subjects' workflows, by subjectKey; a subject whose row does not exist is absent. */
export async function workflowStartsFor(db: Db, subjects: readonly Subject[]): Promise<Map<string, WorkflowStart>> {
  const starts = new Map<string, WorkflowStart>();
  const edgeIds = [...new Set(subjects.filter((s) => s.subject === EDGE_SUBJECT).map((s) => s.subjectId))];
  for (const [edgeId, start] of await edgeLifecycleStarts(db, edgeIds))
    starts.set(subjectKey({ subject: EDGE_SUBJECT, subjectId: edgeId }), start);
  const refundIds = [...new Set(subjects.filter((s) => s.subject === REFUND_SUBJECT).map((s) => s.subjectId))];
  for (const [refundId, start] of await lateRefundStarts(db, refundIds))
    starts.set(subjectKey({ subject: REFUND_SUBJECT, subjectId: refundId }), start);
  const launch = subjects.find((s) => s.subject === LAUNCH_SUBJECT);
  if (launch) {
    const start = await launchFlipStartOf(db);
    if (start) starts.set(subjectKey(launch), start);
  }
  return starts;
}
