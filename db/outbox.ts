// The workflow outbox: rows written beside the business row, claimed by the relay with a lease.
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

export type WorkflowStart = {
  workflowId: string;
  workflowType: string;
  args: unknown[];
  searchAttributes: Record<string, string>;
};

const outboxRow = z.object({
  id: z.number(),
  workflow_id: z.string(),
  workflow_type: z.string(),
  args: z.array(z.unknown()),
  search_attributes: z.record(z.string(), z.string()),
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
    RETURNING id, workflow_id, workflow_type, args, search_attributes, created_at, attempts`);
}

export async function markStarted(db: DatabasePool, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE workflow_outbox SET started_at = clock_timestamp(), claimed_until = NULL, last_error = NULL
    WHERE id = ANY(${sql.array(ids, 'int8')})`);
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
