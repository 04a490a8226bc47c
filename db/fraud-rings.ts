// The ring scan in PostgreSQL: reading the graph as domain/fraud/rings.ts needs it (in a few
// batched queries: only what can change the answer), and recording what it found: every verdict in
// fraud_rule_verdicts, and a hold per earning edge of a ring through insertVerdict.
import { sql } from 'slonik';
import { z } from 'zod';
import { RING_RULE, STRONG_SIGNALS, WEAK_SIGNALS, type RingEdge, type RingGraph } from '../domain/fraud/rings.ts';
import type { RingVerdict, RingSighting, SignalKind } from '../domain/fraud/rings.ts';
import { insertVerdict, type NewVerdict } from './verdicts.ts';
import type { Db } from './pool.ts';

const SIGNAL_KINDS = ['device', 'ip', 'network', 'card'] as const satisfies readonly SignalKind[];

const sharedValueRow = z.object({ kind: z.enum(SIGNAL_KINDS), value: z.string(), users: z.array(z.string()) });
const weakPairRow = z.object({
  referrer_id: z.string(),
  referee_id: z.string(),
  kind: z.enum(SIGNAL_KINDS),
  value: z.string(),
});
const edgeRow = z.object({
  id: z.string(),
  referrer_id: z.string(),
  referee_id: z.string(),
  vested: z.boolean(),
  paid: z.boolean(),
  earning: z.boolean(),
});

/**
 * The graph as the ring scan reads it, answering exactly as it would over every sighting: the devices and cards seen
 * on more than one account (a value seen on one account ties nobody), the IP addresses both accounts of a referral
 * were seen with (an address counts only there), and every edge, in pages of `pageSize` by id.
 */
export async function readRingGraph(db: Db, { pageSize = 25_000 }: { pageSize?: number } = {}): Promise<RingGraph> {
  const sightings: RingSighting[] = [];
  const shared = await db.any(sql.type(sharedValueRow)`
    SELECT kind, value, array_agg(DISTINCT user_id)::text[] AS users
    FROM fraud_sightings WHERE kind = ANY(${sql.array([...STRONG_SIGNALS], 'text')})
    GROUP BY kind, value HAVING count(DISTINCT user_id) > 1`);
  for (const { kind, value, users } of shared)
    for (const accountId of users) sightings.push({ accountId, kind, value });

  const weak = await db.any(sql.type(weakPairRow)`
    SELECT DISTINCT e.referrer_id::text, e.referee_id::text, a.kind, a.value
    FROM edges e
    JOIN fraud_sightings a ON a.user_id = e.referrer_id AND a.kind = ANY(${sql.array([...WEAK_SIGNALS], 'text')})
    JOIN fraud_sightings b ON b.user_id = e.referee_id AND b.kind = a.kind AND b.value = a.value`);
  for (const { referrer_id, referee_id, kind, value } of weak) {
    sightings.push({ accountId: referrer_id, kind, value }, { accountId: referee_id, kind, value });
  }

  const edges: RingEdge[] = [];
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await db.any(sql.type(edgeRow)`
      SELECT e.id::text, e.referrer_id::text, e.referee_id::text, e.vested_at IS NOT NULL AS vested,
             EXISTS (SELECT 1 FROM payments p WHERE p.edge_id = e.id) AS paid,
             (e.voided_at IS NULL AND e.expired_at IS NULL AND e.completed_at IS NULL) AS earning
      FROM edges e WHERE e.id > ${after} ORDER BY e.id LIMIT ${pageSize}`);
    for (const r of page)
      edges.push({
        id: r.id,
        referrerId: r.referrer_id,
        refereeId: r.referee_id,
        vested: r.vested,
        paid: r.paid,
        earning: r.earning,
      });
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.id;
  }
  return { sightings, edges };
}

/** A ring's hold on one edge: one per ring (as its key names it) and edge, never two. */
export const ringHoldId = (component: string, edgeId: string) => `${RING_RULE}:${component}:${edgeId}`;
/** The subject of a ring's rule verdicts: the ring, as its key names it. */
export const ringSubject = (component: string) => `${RING_RULE}:${component}`;
/** Who decided a ring's holds, as the verdict says. */
export const RING_DECIDED_BY = `rule:${RING_RULE}`;

export type RingRecordOutcome = {
  /** Rule verdicts written now (a ring's verdict on an edge is written once). */
  verdictsRecorded: number;
  /** Edges held now. */
  held: number;
  /** Ring edges left alone: already held (by any rule) or voided. */
  alreadyHeldOrVoided: number;
  /** Ring edges this ring had held once and a reviewer cleared since: not held again until the ring grows. */
  clearedBefore: number;
};

/**
 * Records a scan's verdicts: each in fraud_rule_verdicts (stage 'periodic', subject the ring), once; then each hold
 * on an edge that is neither held nor voided now, as a verdict `ring:<ring key>:<edge id>` (with its message to the
 * edge's workflow). A known id writes nothing: an edge a reviewer cleared after this ring held it stays cleared until
 * the ring gains an account on its devices or cards (its key changes). Safe to run again: every write is keyed.
 */
export async function recordRingVerdicts(
  db: Db,
  verdicts: readonly RingVerdict[],
  { scanId, batchSize = 2_000, concurrency = 8 }: { scanId: string; batchSize?: number; concurrency?: number },
): Promise<RingRecordOutcome> {
  const outcome: RingRecordOutcome = { verdictsRecorded: 0, held: 0, alreadyHeldOrVoided: 0, clearedBefore: 0 };
  const evidenceOf = (v: RingVerdict) => JSON.stringify({ ...v.verdict.evidence, scan: scanId });
  for (let i = 0; i < verdicts.length; i += batchSize) {
    const batch = verdicts.slice(i, i + batchSize);
    const col = <T>(f: (v: RingVerdict) => T) => batch.map(f);
    const written = await db.any(sql.type(z.object({ id: z.number() }))`
      INSERT INTO fraud_rule_verdicts (edge_id, stage, subject, rule, decision, score, reason, evidence)
      SELECT x.edge_id, 'periodic', x.subject, x.rule, x.decision, x.score, x.reason, x.evidence
      FROM unnest(${sql.array(
        col((v) => v.edgeId),
        'uuid',
      )}, ${sql.array(
        col((v) => ringSubject(v.component)),
        'text',
      )}, ${sql.array(
        col((v) => v.verdict.rule),
        'text',
      )}, ${sql.array(
        col((v) => v.verdict.decision),
        'text',
      )}, ${sql.array(
        col((v) => v.verdict.score),
        'int4',
      )}, ${sql.array(
        col((v) => v.verdict.reason),
        'text',
      )}, ${sql.array(col(evidenceOf), 'jsonb')}) AS x(edge_id, subject, rule, decision, score, reason, evidence)
      JOIN edges e ON e.id = x.edge_id
      ON CONFLICT (edge_id, stage, subject, rule) DO NOTHING
      RETURNING id`);
    outcome.verdictsRecorded += written.length;
  }

  const holds = verdicts.filter((v) => v.verdict.decision === 'hold');
  const toHold: RingVerdict[] = [];
  for (let i = 0; i < holds.length; i += batchSize) {
    const batch = holds.slice(i, i + batchSize);
    const standing = new Set(
      await db.anyFirst(sql.type(z.object({ id: z.string() }))`
        SELECT e.id::text FROM edges e
        WHERE e.id = ANY(${sql.array(
          batch.map((v) => v.edgeId),
          'uuid',
        )})
          AND (e.held_at IS NOT NULL OR e.voided_at IS NOT NULL
               OR (SELECT v.verdict FROM edge_verdicts v WHERE v.edge_id = e.id ORDER BY v.created_at DESC, v.id DESC LIMIT 1) IN ('hold', 'void'))`),
    );
    for (const v of batch) {
      if (standing.has(v.edgeId)) outcome.alreadyHeldOrVoided++;
      else toHold.push(v);
    }
  }

  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, toHold.length) }, async () => {
      while (next < toHold.length) {
        const v = toHold[next++]!;
        // rule, score and evidence: for insertVerdict once it writes them; written below until then.
        const hold: NewVerdict & { rule: string; score: number; evidence: Record<string, unknown> } = {
          id: ringHoldId(v.component, v.edgeId),
          edgeId: v.edgeId,
          verdict: 'hold',
          reason: v.verdict.reason,
          decidedBy: RING_DECIDED_BY,
          rule: v.verdict.rule,
          score: v.verdict.score,
          evidence: { ...v.verdict.evidence, scan: scanId },
        };
        const written = await insertVerdict(db, hold);
        if (written?.created) outcome.held++;
        else if (written) outcome.clearedBefore++;
      }
    }),
  );
  // The hold's rule, score and evidence, where the insert left them out (also after a crash between the two).
  for (let i = 0; i < holds.length; i += batchSize) {
    const batch = holds.slice(i, i + batchSize);
    await db.query(sql.unsafe`
      UPDATE edge_verdicts v SET rule = x.rule, score = x.score, evidence = x.evidence
      FROM unnest(${sql.array(
        batch.map((h) => ringHoldId(h.component, h.edgeId)),
        'text',
      )}, ${sql.array(
        batch.map((h) => h.verdict.rule),
        'text',
      )}, ${sql.array(
        batch.map((h) => h.verdict.score),
        'int4',
      )}, ${sql.array(batch.map(evidenceOf), 'jsonb')}) AS x(id, rule, score, evidence)
      WHERE v.id = x.id AND v.rule IS NULL`);
  }
  return outcome;
}
