// Edges: the one way an edge is written (the edge, the outbox row that starts its workflow, the
// attribution event), and the reads of an edge as its workflow's start needs it.
import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import {
  EDGE_KINDS,
  EDGE_SOURCES,
  PROGRAM_PHASES,
  type EdgeKind,
  type EdgeSource,
  type ProgramPhase,
} from '../domain/edge.ts';
import type { AttributionOutcome } from '../domain/attribution.ts';
import { EDGE_SUBJECT, edgeLifecycleInput, edgeLifecycleStart } from '../contracts/edge-lifecycle.ts';
import type { WorkflowStart } from '../contracts/workflow-start.ts';
import type { Db } from './pool.ts';

export const edgeRow = z.object({
  id: z.uuid(),
  referrer_id: z.uuid(),
  referee_id: z.uuid(),
  source: z.enum(EDGE_SOURCES),
  kind: z.enum(EDGE_KINDS),
  phase_at_write: z.enum(PROGRAM_PHASES),
  code: z.string().nullable(),
  activation_window_days: z.number(),
  created_at: z.date(),
});
export type EdgeRow = z.infer<typeof edgeRow>;
export const edgeColumns = sql.fragment`id, referrer_id, referee_id, source, kind, phase_at_write, code, activation_window_days, created_at`;

/** An edge about to be written; the referee and the time come from the statement writing it. */
export type EdgeToWrite = {
  id: string;
  referrerId: string;
  source: EdgeSource;
  kind: EdgeKind;
  phase: ProgramPhase;
  code: string | null;
  activationWindowDays: number;
};

/**
 * The common table expressions that write an edge, for one statement: `edge` (the row, unless the
 * referee has one already: first touch wins), the outbox row that starts its workflow, and the
 * attribution event. With `edge` null they write nothing (the statement's text stays the same, so
 * it can be prepared). Every way an edge is made goes through here.
 */
export function edgeWrite(edge: EdgeToWrite | null, referee: FragmentSqlToken, createdAt: string): FragmentSqlToken {
  return sql.fragment`
    edge AS (
      INSERT INTO edges (id, referrer_id, referee_id, source, kind, phase_at_write, code, activation_window_days, created_at)
      SELECT ${edge?.id ?? null}::uuid, ${edge?.referrerId ?? null}::uuid, ${referee}, ${edge?.source ?? null}, ${edge?.kind ?? null},
             ${edge?.phase ?? null}, ${edge?.code ?? null}, ${edge?.activationWindowDays ?? null}::integer, ${createdAt}::timestamptz
      WHERE ${edge !== null}
      ON CONFLICT (referee_id) DO NOTHING
      RETURNING ${edgeColumns}
    ), edge_start AS (
      INSERT INTO workflow_outbox (subject, subject_id) SELECT ${EDGE_SUBJECT}, edge.id FROM edge
    ), edge_event AS (
      INSERT INTO attribution_events (referee_id, referrer_id, source, code, outcome, edge_id)
      SELECT edge.referee_id, edge.referrer_id, edge.source, edge.code, 'edge_written', edge.id FROM edge
    )`;
}

/** An attribution an admin decided: who (their principal) and why, kept on the attribution event. */
export type AttributionDecision = { decidedBy: string; reason: string };

/**
 * Attributes a user who exists already: the edge and its workflow's start, unless the referee has
 * an edge; either way the attempt is recorded as an attribution event (with who decided it and why,
 * when an admin did). Run inside the caller's transaction.
 */
export async function attributeExistingUser(
  tx: Db,
  refereeId: string,
  edge: EdgeToWrite,
  decision: AttributionDecision | null = null,
): Promise<{ outcome: 'edge_written' | 'already_attributed'; edge: EdgeRow }> {
  const written = await tx.maybeOne(sql.type(edgeRow)`
    WITH ${edgeWrite(edge, sql.fragment`${refereeId}::uuid`, new Date().toISOString())}
    SELECT * FROM edge`);
  if (written) {
    if (decision)
      await tx.query(sql.unsafe`
        UPDATE attribution_events SET decided_by = ${decision.decidedBy}, reason = ${decision.reason}
        WHERE edge_id = ${written.id} AND outcome = 'edge_written'`);
    return { outcome: 'edge_written', edge: written };
  }
  const existing = (await findEdgeByReferee(tx, refereeId))!;
  await recordAttributionEvent(tx, {
    refereeId,
    referrerId: edge.referrerId,
    source: edge.source,
    code: edge.code,
    outcome: 'already_attributed',
    edgeId: existing.id,
    decision,
  });
  return { outcome: 'already_attributed', edge: existing };
}

export async function recordAttributionEvent(
  db: Db,
  e: {
    refereeId: string;
    referrerId: string | null;
    source: string;
    code: string | null;
    outcome: AttributionOutcome;
    edgeId: string | null;
    decision?: AttributionDecision | null;
  },
): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO attribution_events (referee_id, referrer_id, source, code, outcome, edge_id, decided_by, reason)
    VALUES (${e.refereeId}, ${e.referrerId}, ${e.source}, ${e.code}, ${e.outcome}, ${e.edgeId},
            ${e.decision?.decidedBy ?? null}, ${e.decision?.reason ?? null})`);
}

export async function findEdgeByReferee(db: Db, refereeId: string): Promise<EdgeRow | null> {
  return db.maybeOne(sql.type(edgeRow)`SELECT ${edgeColumns} FROM edges WHERE referee_id = ${refereeId}`);
}

const edgeStartRow = edgeRow.extend({ partner_id: z.uuid().nullable() });

/**
 * How each of these edges' workflows is started, from the edges' current rows: the input, the
 * search attributes and the summary its contract builds. The partner is the referrer's tenant, or
 * for a sub-account its agency (the tenant's parent), while it is an approved, active partner.
 */
export async function edgeLifecycleStarts(db: Db, edgeIds: readonly string[]): Promise<Map<string, WorkflowStart>> {
  if (edgeIds.length === 0) return new Map();
  const rows = await db.any(sql.type(edgeStartRow)`
    SELECT e.id, e.referrer_id, e.referee_id, e.source, e.kind, e.phase_at_write, e.code, e.activation_window_days, e.created_at, p.tenant_id AS partner_id
    FROM edges e
    JOIN users referrer ON referrer.id = e.referrer_id
    JOIN tenants rt ON rt.id = referrer.tenant_id
    LEFT JOIN partners p ON p.tenant_id = coalesce(rt.parent_tenant_id, referrer.tenant_id) AND p.approved AND p.status = 'active'
    WHERE e.id = ANY(${sql.array([...edgeIds], 'uuid')})`);
  return new Map(rows.map((row) => [row.id, edgeLifecycleStart(edgeLifecycleInput(row, row.partner_id))]));
}
