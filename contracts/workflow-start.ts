// What starting a workflow takes, as every contract builds it and platform/workflow-delivery.ts
// sends it: the business id, the type, the input, what ops search by, and the one-line summary the
// Temporal UI shows for the run.
import type { SearchAttributePair } from '@temporalio/common';

export type WorkflowStart = {
  workflowId: string;
  workflowType: string;
  args: unknown[];
  searchAttributes: SearchAttributePair[];
  summary: string;
  /**
   * A deployment's singleton that may run again under its id once its run closed (ops ended it).
   * Otherwise ids are never reused: a start or message for an ended workflow is refused.
   */
  restartable?: true;
};

/** What delivering a start or a message found: done, or refused because the workflow had already ended. */
export type DeliveryOutcome = 'delivered' | 'workflow_closed';

/**
 * What the workflow outbox names: the kind of business object a row is about and its id. The relay
 * builds the start (or finds the workflow to tell) from that object's current row.
 */
export const OUTBOX_SUBJECTS = ['edge', 'launch', 'refund'] as const;
export type OutboxSubject = (typeof OUTBOX_SUBJECTS)[number];
