// Fraud signals and rule verdicts in PostgreSQL: the sightings a signup, an activation or a payment
// writes in its own statement, the facts a stage's rules read (one query, on the indexes of
// 0010_fraud_signals.sql), and each rule's verdict, stored once per edge, stage, subject and rule.
import { sql, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { SIGNAL_KINDS, type EdgeFacts, type SignalKind, type Signals } from '../domain/fraud/facts.ts';
import { FRAUD_STAGES, type FraudDecision, type FraudStage, type FraudVerdict } from '../domain/fraud/rule.ts';
import type { Db } from './pool.ts';

export type Sighting = { kind: SignalKind; value: string };

/** Where a sighting was made: the signup, the activation, or one payment. */
export const SIGHTING_SOURCES = { signup: 'signup', activation: 'activation' } as const;
export const paymentSource = (paymentId: string) => `payment:${paymentId}`;

/**
 * The insert of `sightings` for the user `userId` (an SQL expression over `from`), for a data-modifying
 * CTE of the statement that writes the signup or the activation. The statement's text does not depend on
 * how many there are (it can be prepared); a sighting already recorded is not written again.
 */
export function sightingsInsert(
  from: FragmentSqlToken,
  userId: FragmentSqlToken,
  sightings: readonly Sighting[],
  source: string,
  seenAt: FragmentSqlToken,
): FragmentSqlToken {
  return sql.fragment`
    INSERT INTO fraud_sightings (user_id, kind, value, source, seen_at)
    SELECT ${userId}, s.kind, s.value, ${source}, ${seenAt}
    FROM ${from} CROSS JOIN unnest(${sql.array(
      sightings.map((s) => s.kind),
      'text',
    )}, ${sql.array(
      sightings.map((s) => s.value),
      'text',
    )}) AS s(kind, value)
    ON CONFLICT DO NOTHING`;
}

const windowRow = z.object({ hour: z.number(), day: z.number() });
const factsRow = z.object({
  id: z.uuid(),
  created_at: z.date(),
  referrer_id: z.uuid(),
  referee_id: z.uuid(),
  referrer_email: z.string(),
  referee_email: z.string(),
  referee_created_at: z.date(),
  referee_activated_at: z.date().nullable(),
  referrer_is_partner: z.boolean(),
  sightings: z.array(
    z.object({ user_id: z.uuid(), kind: z.enum(SIGNAL_KINDS), value: z.string(), source: z.string() }),
  ),
  siblings: z.array(z.object({ kind: z.enum(SIGNAL_KINDS), value: z.string(), referees: z.number() })),
  crowd: z.array(windowRow.extend({ kind: z.enum(SIGNAL_KINDS), value: z.string() })),
  velocity: windowRow,
  payment: z.object({ id: z.string(), fingerprint: z.string().nullable() }).nullable(),
});

// The referrer's edges counted for the velocity rule. Where the edge is written: the hour and the
// day up to it. At activation, the edges written after it are known too: the hour and the day
// centred on it (each still one hour, one day long), so every edge of a burst is seen in it, the
// first ones included, before any of them vests.
const upToTheEdge = sql.fragment`
      SELECT count(*) FILTER (WHERE x.created_at > e.created_at - interval '1 hour')::int AS hour, count(*)::int AS day
      FROM e JOIN edges x ON x.referrer_id = e.referrer_id
        AND x.created_at > e.created_at - interval '1 day' AND x.created_at <= e.created_at`;
const aroundTheEdge = sql.fragment`
      SELECT count(*) FILTER (WHERE x.created_at > e.created_at - interval '30 minutes' AND x.created_at <= e.created_at + interval '30 minutes')::int AS hour,
             count(*)::int AS day
      FROM e JOIN edges x ON x.referrer_id = e.referrer_id
        AND x.created_at > e.created_at - interval '12 hours' AND x.created_at <= e.created_at + interval '12 hours'`;

/**
 * What every rule of the stage reads about the edge, in one query; null when there is no such edge.
 * At payment, `subject` is the payment id (a payment of this edge, else `payment` is null). Every
 * lookup goes through an index: sightings by user (the unique key's prefix) and by value
 * (fraud_sightings_value_idx), the referrer's edges by time (edges_referrer_idx), referees by id.
 */
export async function gatherFacts(
  db: Db,
  edgeId: string,
  stage: FraudStage,
  subject?: string,
): Promise<EdgeFacts | null> {
  const row = await db.maybeOne(sql.type(factsRow)`
    WITH e AS (
      SELECT e.id, e.created_at, e.referrer_id, e.referee_id, r.email AS referrer_email, f.email AS referee_email,
             f.created_at AS referee_created_at, f.activated_at AS referee_activated_at,
             EXISTS (SELECT 1 FROM partners p WHERE p.tenant_id = r.tenant_id AND p.approved AND p.status = 'active') AS referrer_is_partner
      FROM edges e JOIN users r ON r.id = e.referrer_id JOIN users f ON f.id = e.referee_id
      WHERE e.id = ${edgeId}
    ), seen AS (
      SELECT s.user_id, s.kind, s.value, s.source
      FROM e JOIN fraud_sightings s ON s.user_id = e.referrer_id OR s.user_id = e.referee_id
    ), pay AS (
      SELECT p.id, p.payment_method_fingerprint AS fingerprint
      FROM e JOIN payments p ON p.edge_id = e.id WHERE p.id = ${subject ?? null}::text
    ), mine AS (
      SELECT seen.kind, seen.value FROM seen JOIN e ON seen.user_id = e.referee_id WHERE seen.kind IN ('device', 'ip', 'card')
      UNION SELECT 'card', pay.fingerprint FROM pay WHERE pay.fingerprint IS NOT NULL
    ), siblings AS (
      SELECT m.kind, m.value, count(DISTINCT s.user_id)::int AS referees
      FROM mine m
      JOIN fraud_sightings s ON s.kind = m.kind AND s.value = m.value
      JOIN edges sib ON sib.referee_id = s.user_id
      JOIN e ON sib.referrer_id = e.referrer_id AND sib.referee_id <> e.referee_id
      GROUP BY m.kind, m.value
    ), crowd AS (
      SELECT g.kind, g.value,
             count(*) FILTER (WHERE s.seen_at > e.referee_created_at - interval '1 hour')::int AS hour, count(*)::int AS day
      FROM e JOIN seen g ON g.user_id = e.referee_id AND g.source = ${SIGHTING_SOURCES.signup} AND g.kind IN ('ip', 'network')
      JOIN fraud_sightings s ON s.kind = g.kind AND s.value = g.value
        AND s.seen_at > e.referee_created_at - interval '1 day' AND s.seen_at <= e.referee_created_at
      WHERE s.source = ${SIGHTING_SOURCES.signup}
      GROUP BY g.kind, g.value
    ), velocity AS (${stage === 'activation' ? aroundTheEdge : upToTheEdge}
    )
    SELECT e.*,
           coalesce((SELECT json_agg(seen) FROM seen), '[]') AS sightings,
           coalesce((SELECT json_agg(siblings) FROM siblings), '[]') AS siblings,
           coalesce((SELECT json_agg(crowd) FROM crowd), '[]') AS crowd,
           (SELECT row_to_json(velocity) FROM velocity) AS velocity,
           (SELECT row_to_json(pay) FROM pay) AS payment
    FROM e`);
  if (!row) return null;
  const signalsOf = (userId: string): Signals => {
    const out: Record<SignalKind, string[]> = { device: [], ip: [], network: [], card: [] };
    for (const s of row.sightings)
      if (s.user_id === userId && !out[s.kind].includes(s.value)) out[s.kind].push(s.value);
    return out;
  };
  const signup = (kind: SignalKind) =>
    row.sightings.find((s) => s.user_id === row.referee_id && s.kind === kind && s.source === SIGHTING_SOURCES.signup)
      ?.value ?? null;
  const [signupIp, signupNetwork] = [signup('ip'), signup('network')];
  const crowdOf = (kind: SignalKind, value: string | null) => {
    const c = row.crowd.find((w) => w.kind === kind && w.value === value);
    return c ? { hour: c.hour, day: c.day } : null;
  };
  return {
    stage,
    edge: { id: row.id, createdAt: row.created_at },
    referrer: {
      id: row.referrer_id,
      email: row.referrer_email,
      isPartner: row.referrer_is_partner,
      signals: signalsOf(row.referrer_id),
    },
    referee: {
      id: row.referee_id,
      email: row.referee_email,
      signedUpAt: row.referee_created_at,
      activatedAt: row.referee_activated_at,
      signals: signalsOf(row.referee_id),
      signupIp,
      signupNetwork,
    },
    siblings: row.siblings,
    referrerEdges: row.velocity,
    crowd: { ip: crowdOf('ip', signupIp), network: crowdOf('network', signupNetwork) },
    payment: row.payment,
  };
}

export const ruleVerdictRow = z.object({
  stage: z.enum(FRAUD_STAGES),
  subject: z.string(),
  rule: z.string(),
  decision: z.enum(['allow', 'score', 'hold', 'block']),
  score: z.number(),
  reason: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  created_at: z.date(),
});
export type RuleVerdictRow = z.infer<typeof ruleVerdictRow>;
const ruleVerdictColumns = sql.fragment`stage, subject, rule, decision, score, reason, evidence, created_at`;

export const toFraudVerdict = (row: RuleVerdictRow): FraudVerdict => ({
  rule: row.rule,
  decision: row.decision as FraudDecision,
  score: row.score,
  reason: row.reason,
  evidence: row.evidence,
});

/**
 * Stores each rule's verdict on the edge at the stage (subject: the payment id at payment, '' else)
 * unless that rule's verdict is stored already, and answers every stored verdict of the edge, stage
 * and subject: a retry, or two screenings racing, end with the first verdicts of each rule.
 */
export async function recordRuleVerdicts(
  db: Db,
  edgeId: string,
  stage: FraudStage,
  subject: string,
  verdicts: readonly FraudVerdict[],
): Promise<readonly RuleVerdictRow[]> {
  return db.any(sql.type(ruleVerdictRow)`
    WITH inserted AS (
      INSERT INTO fraud_rule_verdicts (edge_id, stage, subject, rule, decision, score, reason, evidence)
      SELECT ${edgeId}, ${stage}, ${subject}, v.rule, v.decision, v.score, v.reason, v.evidence
      FROM jsonb_to_recordset(${sql.jsonb(verdicts as never)}) AS v(rule text, decision text, score integer, reason text, evidence jsonb)
      ON CONFLICT (edge_id, stage, subject, rule) DO NOTHING
      RETURNING ${ruleVerdictColumns}
    )
    SELECT * FROM inserted
    UNION ALL
    SELECT ${ruleVerdictColumns} FROM fraud_rule_verdicts
    WHERE edge_id = ${edgeId} AND stage = ${stage} AND subject = ${subject} AND rule NOT IN (SELECT rule FROM inserted)`);
}

/** The edge's stored rule verdicts, of one stage and subject when given, oldest first. */
export async function ruleVerdictsOf(
  db: Db,
  edgeId: string,
  at?: { stage: FraudStage; subject: string },
): Promise<readonly RuleVerdictRow[]> {
  return db.any(sql.type(ruleVerdictRow)`
    SELECT ${ruleVerdictColumns} FROM fraud_rule_verdicts
    WHERE edge_id = ${edgeId} ${at ? sql.fragment`AND stage = ${at.stage} AND subject = ${at.subject}` : sql.fragment``}
    ORDER BY created_at, id`);
}

const edgeVerdictRow = z.object({
  id: z.string(),
  edge_id: z.uuid(),
  verdict: z.enum(['hold', 'clear', 'void']),
  reason: z.string(),
  decided_by: z.string(),
  rule: z.string().nullable(),
  score: z.number().nullable(),
  evidence: z.record(z.string(), z.unknown()).nullable(),
  resolves: z.string().nullable(),
  created_at: z.date(),
});
export type EdgeVerdictRow = z.infer<typeof edgeVerdictRow>;

/**
 * The edge's verdicts (holds, clears, voids, with the rule, score and evidence of those the rules
 * raised), newest first, and every rule verdict on it, oldest first; null when there is no such edge.
 */
export async function edgeVerdictsWithRules(
  db: Db,
  edgeId: string,
): Promise<{ verdicts: readonly EdgeVerdictRow[]; ruleVerdicts: readonly RuleVerdictRow[] } | null> {
  const [edge, verdicts, ruleVerdicts] = await Promise.all([
    db.maybeOneFirst(sql.type(z.object({ id: z.uuid() }))`SELECT id FROM edges WHERE id = ${edgeId}`),
    db.any(sql.type(edgeVerdictRow)`
      SELECT id, edge_id, verdict, reason, decided_by, rule, score, evidence, resolves, created_at
      FROM edge_verdicts WHERE edge_id = ${edgeId} ORDER BY created_at DESC, id DESC`),
    ruleVerdictsOf(db, edgeId),
  ]);
  return edge ? { verdicts, ruleVerdicts } : null;
}
