// The workflow outbox: rows written beside the business row, claimed by the relay with a lease.
// A row either starts its workflow, or (signal_name set) delivers a message to it with
// signal-with-start.
import { sql, type DatabasePool, type DatabaseTransactionConnection } from 'slonik';

type Db = DatabasePool | DatabaseTransactionConnection;
import { z } from 'zod';

import type { DeliveryOutcome, WorkflowStart } from '../contracts/workflow-start.ts';
import { toSearchAttributePairs } from '../workflows/search-attributes.ts';

/** A start as the outbox stores it (transitional). */
export type RecordedStart = {
  workflowId: string;
  workflowType: string;
  args: unknown[];
  searchAttributes: Record<string, string>;
};

export const fromRecorded = (r: RecordedStart): WorkflowStart => ({ ...r, searchAttributes: toSearchAttributePairs(r.searchAttributes), summary: '' });

const outboxRow = z.object({
  id: z.number(),
  workflow_id: z.string(),
  workflow_type: z.string(),
  args: z.array(z.unknown()),
  search_attributes: z.record(z.string(), z.string()),
  signal_name: z.string().nullable(),
  signal_args: z.array(z.unknown()).nullable(),
  created_at: z.date(),
  attempts: z.number(),
});
export type OutboxRow = z.infer<typeof outboxRow>;

/** Claims up to `limit` pending rows nobody else holds, for `leaseMs`; oldest first. */
export async function claimPendingStarts(db: DatabasePool, limit: number, leaseMs: number): Promise<readonly OutboxRow[]> {
  return db.any(sql.type(outboxRow)`
    UPDATE workflow_outbox SET claimed_until = now() + ${leaseMs} * interval '1 millisecond', attempts = attempts + 1
    WHERE id IN (
      SELECT id FROM workflow_outbox
      WHERE started_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
      ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING id, workflow_id, workflow_type, args, search_attributes, signal_name, signal_args, created_at, attempts`);
}

export type { DeliveryOutcome } from '../contracts/workflow-start.ts';

/** Rows done: started or delivered, or (a message) refused because its workflow had already ended. */
export async function markStarted(db: DatabasePool, ids: readonly number[], outcome: DeliveryOutcome = 'delivered'): Promise<void> {
  if (ids.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE workflow_outbox SET started_at = clock_timestamp(), claimed_until = NULL, last_error = NULL, outcome = ${outcome}
    WHERE id = ANY(${sql.array(ids, 'int8')})`);
}

/** How each of these workflows was (or will be) started, from its outbox start row. */
export async function workflowStarts(db: Db, workflowIds: readonly string[]): Promise<Map<string, WorkflowStart>> {
  if (workflowIds.length === 0) return new Map();
  const rows = await db.any(sql.type(z.object({ workflow_id: z.string(), workflow_type: z.string(), args: z.array(z.unknown()), search_attributes: z.record(z.string(), z.string()) }))`
    SELECT workflow_id, workflow_type, args, search_attributes FROM workflow_outbox
    WHERE workflow_id = ANY(${sql.array([...workflowIds], 'text')}) AND signal_name IS NULL`);
  return new Map(rows.map((r) => [r.workflow_id, fromRecorded({ workflowId: r.workflow_id, workflowType: r.workflow_type, args: r.args, searchAttributes: r.search_attributes })]));
}

/** How an edge's workflow was started (from its start row), for messages that may have to start it. */
export async function workflowStartOf(db: Db, workflowId: string): Promise<WorkflowStart | null> {
  return (await workflowStarts(db, [workflowId])).get(workflowId) ?? null;
}

/** Leaves the row for a later attempt, after `retryInMs`. */
export async function markFailed(db: DatabasePool, id: number, error: string, retryInMs: number): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE workflow_outbox SET last_error = ${error.slice(0, 2000)}, claimed_until = now() + ${retryInMs} * interval '1 millisecond'
    WHERE id = ${id}`);
}

export async function pendingStartCount(db: DatabasePool): Promise<number> {
  return db.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM workflow_outbox WHERE started_at IS NULL`);
}
