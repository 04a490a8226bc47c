// Fraud verdicts on edges (hold, clear, void), each written with the outbox message that tells the
// edge's workflow, and with the edge's current hold (edges.held_at) kept in the same statement: a
// hold sets it (the first hold's time is kept), a clear or a void lifts it. A hold or a clear that
// changes whether a vested edge counts also recounts its referrer's standing in the same
// transaction, so a held referral stops scoring at once and a cleared one scores again.
import { sql } from 'slonik';
import { z } from 'zod';
import { verdictEventId, type VerdictEvent } from '../domain/lifecycle.ts';
import { verdictSignal } from '../contracts/edge-lifecycle.ts';
import { edgeMessage } from './outbox.ts';
import type { Db } from './pool.ts';
import { refreshStanding } from './standing.ts';

export type NewVerdict = {
  id: string;
  edgeId: string;
  verdict: 'hold' | 'clear' | 'void';
  reason: string;
  decidedBy: string;
  /** The hold a reviewer's clear or void decides (edge_verdicts.resolves). */
  resolves?: string | null;
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

const writtenRow = verdictRow.extend({
  created: z.boolean(),
  referrer_id: z.uuid().nullable(),
  recount: z.boolean(),
});

/**
 * Records a fraud verdict on an edge with the message for its workflow; a known verdict id writes nothing. Null: no
 * such edge.
 */
export async function insertVerdict(db: Db, v: NewVerdict): Promise<{ row: VerdictRow; created: boolean } | null> {
  const event: VerdictEvent = { eventId: verdictEventId(v.id), verdict: v.verdict, reason: v.reason };
  return db.transaction(async (tx) => {
    // The edge row is locked first, so verdicts on one edge keep its hold in the order they commit.
    const row = await tx.maybeOne(sql.type(writtenRow)`
      WITH edge AS (SELECT id, referrer_id, vested_at, voided_at, held_at FROM edges WHERE id = ${v.edgeId} FOR UPDATE
      ), inserted AS (
        INSERT INTO edge_verdicts (id, edge_id, verdict, reason, decided_by, resolves, rule, score, evidence)
        SELECT ${v.id}, edge.id, ${v.verdict}, ${v.reason}, ${v.decidedBy}, ${v.resolves ?? null}::text, ${v.rule ?? null}::text,
               ${v.score ?? null}::integer, ${v.evidence ? sql.jsonb(v.evidence as never) : null}::jsonb FROM edge
        ON CONFLICT (id) DO NOTHING
        RETURNING id, edge_id, verdict, reason, decided_by, created_at
      ), message AS (
        ${edgeMessage(verdictSignal, event, sql.fragment`inserted.edge_id`)}
        FROM inserted
      ), held AS (
        UPDATE edges SET held_at = CASE WHEN inserted.verdict = 'hold' THEN coalesce(edges.held_at, inserted.created_at) END
        FROM inserted WHERE edges.id = inserted.edge_id
      )
      SELECT inserted.*, true AS created, edge.referrer_id,
             (edge.vested_at IS NOT NULL AND edge.voided_at IS NULL
               AND ((inserted.verdict = 'hold' AND edge.held_at IS NULL) OR (inserted.verdict = 'clear' AND edge.held_at IS NOT NULL))) AS recount
      FROM inserted JOIN edge ON edge.id = inserted.edge_id
      UNION ALL
      SELECT id, edge_id, verdict, reason, decided_by, created_at, false, NULL, false FROM edge_verdicts
      WHERE id = ${v.id} AND NOT EXISTS (SELECT 1 FROM inserted)`);
    if (!row) return null;
    const { created, referrer_id: referrerId, recount, ...rest } = row;
    if (recount && referrerId) {
      const why = v.verdict === 'hold' ? 'referral held for review' : 'referral cleared after review';
      await refreshStanding(tx, referrerId, `${why} (edge ${v.edgeId})`);
    }
    return { row: rest, created };
  });
}
