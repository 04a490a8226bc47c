// The workflow outbox: rows written in the same statement as the business row they are about,
// claimed by the relay with a lease. A row names its subject (an edge, the launch) and either
// starts the subject's workflow or (signal_name set) carries a message for it. The start itself is
// built when the row is delivered, from the subject's current row (db/workflow-starts.ts).
import { sql, type DatabasePool, type FragmentSqlToken } from 'slonik';
import type { SignalDefinition } from '@temporalio/common';
import { z } from 'zod';
import { EDGE_SUBJECT } from '../contracts/edge-lifecycle.ts';
import { OUTBOX_SUBJECTS, type DeliveryOutcome } from '../contracts/workflow-start.ts';
import type { Db } from './pool.ts';

const outboxRow = z.object({
  id: z.number(),
  subject: z.enum(OUTBOX_SUBJECTS),
  subject_id: z.string(),
  signal_name: z.string().nullable(),
  signal_args: z.array(z.unknown()).nullable(),
  created_at: z.date(),
  attempts: z.number(),
});
export type OutboxRow = z.infer<typeof outboxRow>;

/**
 * The insert of a message for the edge `edgeId` (an SQL expression) names, to be completed with
 * the FROM of the statement it is part of. The event id is the message key: a message is written once.
 */
export function edgeMessage<E extends { eventId: string }>(
  signal: SignalDefinition<[E]>,
  event: E,
  edgeId: FragmentSqlToken,
): FragmentSqlToken {
  return sql.fragment`
    INSERT INTO workflow_outbox (subject, subject_id, message_key, signal_name, signal_args)
    SELECT ${EDGE_SUBJECT}, ${edgeId}, ${event.eventId}, ${signal.name}, ${sql.jsonb([event] as never)}`;
}

/** Claims up to `limit` pending rows nobody else holds, for `leaseMs`; oldest first. */
export async function claimPendingRows(
  db: DatabasePool,
  limit: number,
  leaseMs: number,
): Promise<readonly OutboxRow[]> {
  return db.any(sql.type(outboxRow)`
    UPDATE workflow_outbox SET claimed_until = now() + ${leaseMs} * interval '1 millisecond', attempts = attempts + 1
    WHERE id IN (
      SELECT id FROM workflow_outbox
      WHERE started_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
      ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING id, subject, subject_id, signal_name, signal_args, created_at, attempts`);
}

/** Rows done: started or delivered, or (a message) refused because its workflow had already ended. */
export async function markDelivered(
  db: DatabasePool,
  ids: readonly number[],
  outcome: DeliveryOutcome = 'delivered',
): Promise<void> {
  if (ids.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE workflow_outbox SET started_at = clock_timestamp(), claimed_until = NULL, last_error = NULL, outcome = ${outcome}
    WHERE id = ANY(${sql.array(ids, 'int8')})`);
}

/** Leaves the row for a later attempt, after `retryInMs`. */
export async function markFailed(db: DatabasePool, id: number, error: string, retryInMs: number): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE workflow_outbox SET last_error = ${error.slice(0, 2000)}, claimed_until = now() + ${retryInMs} * interval '1 millisecond'
    WHERE id = ${id}`);
}

export async function pendingRowCount(db: DatabasePool): Promise<number> {
  return db.oneFirst(
    sql.type(
      z.object({ count: z.number() }),
    )`SELECT count(*)::int AS count FROM workflow_outbox WHERE started_at IS NULL`,
  );
}

/** What delivery found for a message: null while it waits, else 'delivered' or 'workflow_closed'. */
export async function messageOutcome(db: Db, messageKey: string): Promise<string | null> {
  return db.maybeOneFirst(
    sql.type(
      z.object({ outcome: z.string().nullable() }),
    )`SELECT outcome FROM workflow_outbox WHERE message_key = ${messageKey}`,
  );
}
