// Holds for review: each `hold` verdict on an edge with what resolved it. A reviewer's clear or
// void names the hold it decides (edge_verdicts.resolves): their void, else their latest clear, is
// the hold's resolution. Without one, the first clear or void on the edge after the hold resolved
// it (an edge has one hold at a time: its workflow lifts it on any clear and ends on any void).
import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

export const HOLD_STATUSES = ['open', 'cleared', 'voided'] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];

const holdRow = z.object({
  id: z.string(),
  edge_id: z.uuid(),
  referrer_id: z.uuid(),
  referee_id: z.uuid(),
  rule: z.string().nullable(),
  reason: z.string(),
  evidence: z.record(z.string(), z.unknown()).nullable(),
  score: z.number().nullable(),
  decided_by: z.string(),
  created_at: z.date(),
  status: z.enum(HOLD_STATUSES),
  resolution_id: z.string().nullable(),
  resolved_by: z.string().nullable(),
  resolved_at: z.date().nullable(),
  resolution_reason: z.string().nullable(),
});
export type HoldRow = z.infer<typeof holdRow>;

/** Holds with their resolution and status, newest first: `where` filters the holds (alias h), `having` what they became. */
function holds(where: FragmentSqlToken, having: FragmentSqlToken, limit: number) {
  return sql.type(holdRow)`
    SELECT * FROM (
      SELECT h.id, h.edge_id, e.referrer_id, e.referee_id, h.rule, h.reason, h.evidence, h.score, h.decided_by, h.created_at,
             CASE r.verdict WHEN 'clear' THEN 'cleared' WHEN 'void' THEN 'voided' ELSE 'open' END AS status,
             r.id AS resolution_id, r.decided_by AS resolved_by, r.created_at AS resolved_at, r.reason AS resolution_reason
      FROM edge_verdicts h
      JOIN edges e ON e.id = h.edge_id
      LEFT JOIN LATERAL (
        SELECT r.id, r.verdict, r.decided_by, r.created_at, r.reason FROM edge_verdicts r
        WHERE r.edge_id = h.edge_id AND r.verdict IN ('clear', 'void')
          AND (r.resolves = h.id OR r.created_at > h.created_at)
        ORDER BY r.resolves IS NOT DISTINCT FROM h.id DESC,
                 (r.resolves IS NOT DISTINCT FROM h.id AND r.verdict = 'void') DESC,
                 CASE WHEN r.resolves IS NOT DISTINCT FROM h.id THEN r.created_at END DESC,
                 r.created_at, r.id
        LIMIT 1
      ) r ON true
      WHERE h.verdict = 'hold' AND ${where}
    ) holds
    WHERE ${having}
    ORDER BY created_at DESC, id DESC
    LIMIT ${limit}`;
}

/** The hold with this id, or null (no such verdict, or it is not a hold). */
export async function findHold(db: Db, id: string): Promise<HoldRow | null> {
  return db.maybeOne(holds(sql.fragment`h.id = ${id}`, sql.fragment`true`, 1));
}

/**
 * A page of holds, newest first: those of `status` (all of them for 'all'), after the hold `after`
 * (the last of the previous page). The page is `limit` + 1 long when more follow.
 */
export async function listHolds(
  db: Db,
  page: { status: HoldStatus | 'all'; after: HoldRow | null; limit: number },
): Promise<readonly HoldRow[]> {
  const after = page.after
    ? sql.fragment`(h.created_at, h.id) < (SELECT created_at, id FROM edge_verdicts WHERE id = ${page.after.id})`
    : sql.fragment`true`;
  const status = page.status === 'all' ? sql.fragment`true` : sql.fragment`status = ${page.status}`;
  return db.any(holds(after, status, page.limit + 1));
}

/** Locks the edge's row until the transaction ends: decisions on one edge are taken one at a time. */
export async function lockEdge(db: Db, edgeId: string): Promise<boolean> {
  const row = await db.maybeOne(
    sql.type(z.object({ id: z.uuid() }))`SELECT id FROM edges WHERE id = ${edgeId} FOR UPDATE`,
  );
  return row !== null;
}

const archiveRow = z.object({
  id: z.string(),
  edge_id: z.uuid(),
  reason: z.string(),
  decided_by: z.string(),
  created_at: z.date(),
  evidence: z.record(z.string(), z.unknown()).nullable(),
});
export type ArchiveRow = z.infer<typeof archiveRow>;

/** The verdict with this id, with the evidence it was decided on (an archive: its terms). */
export async function findArchive(db: Db, verdictId: string): Promise<ArchiveRow | null> {
  return db.maybeOne(sql.type(archiveRow)`
    SELECT id, edge_id, reason, decided_by, created_at, evidence FROM edge_verdicts WHERE id = ${verdictId} AND verdict = 'void'`);
}

/** Marks an archive's void with the rule that decided it and the terms it was decided under. */
export async function noteArchive(db: Db, verdictId: string, terms: string | null): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE edge_verdicts SET rule = 'archive', evidence = ${sql.jsonb(terms === null ? {} : { terms })}
    WHERE id = ${verdictId} AND rule IS NULL`);
}
