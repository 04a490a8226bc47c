// Fraud verdicts on edges (hold, clear, void), each written with the outbox message that tells the
// edge's workflow.
import { sql } from 'slonik';
import { z } from 'zod';
import { verdictEventId, type VerdictEvent } from '../domain/lifecycle.ts';
import { verdictSignal } from '../contracts/edge-lifecycle.ts';
import { edgeMessage } from './outbox.ts';
import type { Db } from './pool.ts';

export type NewVerdict = {
  id: string;
  edgeId: string;
  verdict: 'hold' | 'clear' | 'void';
  reason: string;
  decidedBy: string;
  /** A hold or void the fraud rules raised: the rule(s), the summed score and what they saw. */
  rule?: string | null;
  score?: number | null;
  evidence?: Record<string, unknown> | null;
};
export const verdictRow = z.object({
  id: z.string(),
  edge_id: z.uuid(),
  verdict: z.enum(['hold', 'clear', 'void']),
  reason: z.string(),
  decided_by: z.string(),
  created_at: z.date(),
});
export type VerdictRow = z.infer<typeof verdictRow>;

/**
 * Records a fraud verdict on an edge with the message for its workflow; a known verdict id writes nothing. Null: no
 * such edge.
 */
export async function insertVerdict(db: Db, v: NewVerdict): Promise<{ row: VerdictRow; created: boolean } | null> {
  const event: VerdictEvent = { eventId: verdictEventId(v.id), verdict: v.verdict, reason: v.reason };
  const row = await db.maybeOne(sql.type(verdictRow.extend({ created: z.boolean() }))`
    WITH edge AS (SELECT id FROM edges WHERE id = ${v.edgeId}
    ), inserted AS (
      INSERT INTO edge_verdicts (id, edge_id, verdict, reason, decided_by, rule, score, evidence)
      SELECT ${v.id}, edge.id, ${v.verdict}, ${v.reason}, ${v.decidedBy}, ${v.rule ?? null}::text, ${v.score ?? null}::integer,
             ${v.evidence ? sql.jsonb(v.evidence as never) : null}::jsonb FROM edge
      ON CONFLICT (id) DO NOTHING
      RETURNING id, edge_id, verdict, reason, decided_by, created_at
    ), message AS (
      ${edgeMessage(verdictSignal, event, sql.fragment`inserted.edge_id`)}
      FROM inserted
    )
    SELECT *, true AS created FROM inserted
    UNION ALL
    SELECT id, edge_id, verdict, reason, decided_by, created_at, false FROM edge_verdicts WHERE id = ${v.id} AND NOT EXISTS (SELECT 1 FROM inserted)`);
  if (!row) return null;
  const { created, ...rest } = row;
  return { row: rest, created };
}
