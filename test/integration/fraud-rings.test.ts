// The ring scan's activity on a real PostgreSQL: rings held (a hold per earning edge, with its rule,
// score and evidence, and the message telling the edge's workflow), honest look-alikes untouched, a
// scan run again writing nothing, a cleared edge not held again by the same ring, and held again
// once the ring grows.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { createFraudRingActivities } from '../../activities/fraud-rings.ts';
import { insertVerdict } from '../../db/verdicts.ts';
import type { SignalKind } from '../../domain/fraud/rings.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});
const db = () => database.db;

/** `n` accounts (each with a tenant of its own), written directly. */
async function accounts(label: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await db().query(sql.unsafe`
    WITH t AS (INSERT INTO tenants (id, name, owner_user_id) SELECT id, ${label}, id FROM unnest(${sql.array(ids, 'uuid')}) AS id)
    INSERT INTO users (id, tenant_id, email, inbox, referral_code)
    SELECT id, id, ${label} || '-' || id || '@example.com', ${label} || '-' || id || '@example.com', 'c' || substr(md5(id::text), 1, 12)
    FROM unnest(${sql.array(ids, 'uuid')}) AS id`);
  return ids;
}

async function seen(userId: string, kind: SignalKind, value: string): Promise<void> {
  await db().query(sql.unsafe`
    INSERT INTO fraud_sightings (user_id, kind, value, source) VALUES (${userId}, ${kind}, ${value}, 'signup')`);
}

async function edge(
  referrerId: string,
  refereeId: string,
  { vested = true, voided = false }: { vested?: boolean; voided?: boolean } = {},
): Promise<string> {
  return db().oneFirst(sql.type(z.object({ id: z.string() }))`
    INSERT INTO edges (referrer_id, referee_id, source, kind, phase_at_write, activation_window_days, vested_at, voided_at)
    VALUES (${referrerId}, ${refereeId}, 'link', 'beta_auto', 'beta', 30, ${vested ? sql.fragment`now()` : null}, ${voided ? sql.fragment`now()` : null})
    RETURNING id::text`);
}

const verdictRows = z.object({
  id: z.string(),
  edge_id: z.string(),
  verdict: z.string(),
  decided_by: z.string(),
  rule: z.string().nullable(),
  score: z.number().nullable(),
  evidence: z.record(z.string(), z.unknown()).nullable(),
});
const holdsOn = (edgeIds: string[]) =>
  db().any(sql.type(verdictRows)`
    SELECT id, edge_id::text, verdict, decided_by, rule, score, evidence FROM edge_verdicts
    WHERE edge_id = ANY(${sql.array(edgeIds, 'uuid')}) ORDER BY created_at, id`);
const ruleVerdictCount = () =>
  db().oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM fraud_rule_verdicts`);
const messagesFor = (edgeIds: string[]) =>
  db().oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int AS n FROM workflow_outbox WHERE signal_name IS NOT NULL AND subject_id = ANY(${sql.array(edgeIds, 'text')})`);

const scan = (scanId: string) => createFraudRingActivities({ db: db() }).scanFraudRings({ scanId });

describe('the ring scan', () => {
  const ring: string[] = [];
  const ringEdges: string[] = [];
  const honestEdges: string[] = [];
  let voidedRingEdge: string;
  let heldRingEdge: string;
  let chainEdges: string[];

  beforeAll(async () => {
    // A ring: seven accounts on one phone referring each other; one of its edges already voided,
    // one already held by a reviewer.
    ring.push(...(await accounts('ring', 7)));
    for (const id of ring) {
      await seen(id, 'device', 'phone-ring');
      await seen(id, 'ip', '203.0.113.50');
    }
    for (let i = 1; i < 5; i++) ringEdges.push(await edge(ring[i - 1]!, ring[i]!));
    // One more of theirs on a fresh phone, from the ring's address; and an honest account a ring
    // member referred, from elsewhere.
    const [fresh, outsider] = await accounts('ring-referred', 2);
    await seen(fresh!, 'device', 'fresh-phone');
    await seen(fresh!, 'ip', '203.0.113.50');
    await seen(outsider!, 'device', 'own-phone');
    await seen(outsider!, 'ip', '192.0.2.99');
    ringEdges.push(await edge(ring[2]!, fresh!));
    honestEdges.push(await edge(ring[1]!, outsider!));
    voidedRingEdge = await edge(ring[4]!, ring[5]!, { voided: true });
    heldRingEdge = await edge(ring[0]!, ring[6]!);
    await insertVerdict(db(), {
      id: `manual-${heldRingEdge}`,
      edgeId: heldRingEdge,
      verdict: 'hold',
      reason: 'looked odd',
      decidedBy: 'admin-key:test',
    });

    // A chain where each referrer paid with the card of the one they referred.
    const chain = await accounts('chain', 5);
    for (let i = 1; i < chain.length; i++) {
      await seen(chain[i - 1]!, 'card', `card-chain-${i}`);
      await seen(chain[i]!, 'card', `card-chain-${i}`);
    }
    chainEdges = [];
    for (let i = 1; i < chain.length; i++) chainEdges.push(await edge(chain[i - 1]!, chain[i]!));

    // Honest look-alikes: a family of four behind one IP with one referral, an office of 200 on one
    // address and network with 20 referrals, a parent who referred two children on the family card.
    const family = await accounts('family', 4);
    for (const id of family) {
      await seen(id, 'device', `dev-${id}`);
      await seen(id, 'ip', '198.51.100.7');
    }
    honestEdges.push(await edge(family[0]!, family[1]!));
    const office = await accounts('office', 200);
    await db().query(sql.unsafe`
      INSERT INTO fraud_sightings (user_id, kind, value, source)
      SELECT id, k.kind, CASE k.kind WHEN 'device' THEN 'dev-' || id WHEN 'ip' THEN '192.0.2.10' ELSE 'AS3320' END, 'signup'
      FROM unnest(${sql.array(office, 'uuid')}) AS id, (VALUES ('device'), ('ip'), ('network')) AS k(kind)`);
    for (let i = 0; i < 20; i++) honestEdges.push(await edge(office[i]!, office[100 + i]!));
    const parent = await accounts('parent', 3);
    for (const id of parent) await seen(id, 'card', 'visa-family');
    honestEdges.push(await edge(parent[0]!, parent[1]!), await edge(parent[0]!, parent[2]!));
  });

  const keyOf = async (edgeId: string) =>
    (await holdsOn([edgeId])).filter((v) => v.decided_by === 'rule:ring').map((v) => v.evidence!.component as string);

  it('holds the earning edges of rings, leaves held and voided ones alone, and touches no honest look-alike', async () => {
    const outcome = await scan('scan-1');
    expect(outcome).toMatchObject({
      scanId: 'scan-1',
      components: 3, // the ring, the chain, and the family card
      rings: 2,
      ringEdges: 6 + 4, // the voided edge earns nothing: no verdict
      verdictsRecorded: 6 + 4 + 2,
      held: 9,
      alreadyHeldOrVoided: 1,
      clearedBefore: 0,
      ignoredValues: 0,
    });

    const holds = await holdsOn([...ringEdges, ...chainEdges]);
    expect(holds.map((h) => h.edge_id).sort()).toEqual([...ringEdges, ...chainEdges].sort());
    for (const h of holds) {
      const component = h.evidence!.component as string;
      expect(h).toMatchObject({
        id: `ring:${component}:${h.edge_id}`,
        verdict: 'hold',
        decided_by: 'rule:ring',
        rule: 'ring',
      });
      expect(h.score).toBeGreaterThanOrEqual(100);
      expect(h.evidence).toMatchObject({ scan: 'scan-1', score: h.score, holdScore: 100 });
    }
    const ringHold = holds.find((h) => h.edge_id === ringEdges[0])!;
    expect(ringHold.evidence).toMatchObject({
      accounts: 8,
      sharingAccounts: 7,
      weakReferrals: 1,
      sharedValues: [{ kind: 'device', value: 'phone-ring', accounts: 7 }],
    });
    const fresh = (await holdsOn([ringEdges[4]!]))[0]!;
    const members = ringHold.evidence!.members as string[];
    expect([...members].sort()).toEqual(
      [
        ...ring,
        ...(await db().anyFirst(sql.type(z.object({ id: z.string() }))`
        SELECT referee_id::text AS id FROM edges WHERE id = ${fresh.edge_id}`)),
      ].sort(),
    );
    // Each hold tells the edge's workflow through the outbox.
    expect(await messagesFor([...ringEdges, ...chainEdges])).toBe(9);

    expect((await holdsOn([heldRingEdge, voidedRingEdge])).map((h) => h.id)).toEqual([`manual-${heldRingEdge}`]);
    expect(await holdsOn(honestEdges)).toEqual([]);
    const said = await db().any(sql.type(
      z.object({ edge_id: z.string(), stage: z.string(), subject: z.string(), decision: z.string() }),
    )`
      SELECT edge_id::text, stage, subject, decision FROM fraud_rule_verdicts WHERE edge_id = ANY(${sql.array(honestEdges, 'uuid')})`);
    // Only the parent's two referrals are in a component (the family card): scored, not held.
    expect(said.map((r) => r.decision)).toEqual(['score', 'score']);
    expect(said[0]).toMatchObject({ stage: 'periodic', subject: expect.stringMatching(/^ring:[0-9a-f-]{36}\.3$/) });
    const forHeldEdge = await db().oneFirst(sql.type(z.object({ decision: z.string() }))`
      SELECT decision FROM fraud_rule_verdicts WHERE edge_id = ${heldRingEdge}`);
    expect(forHeldEdge).toBe('hold'); // recorded: what the rule said, though the edge was held already
  });

  it('run again, writes nothing', async () => {
    const before = await ruleVerdictCount();
    const outcome = await scan('scan-2');
    expect(outcome).toMatchObject({
      rings: 2,
      verdictsRecorded: 0,
      held: 0,
      alreadyHeldOrVoided: 10,
      clearedBefore: 0,
    });
    expect(await ruleVerdictCount()).toBe(before);
    expect(await holdsOn([...ringEdges, ...chainEdges])).toHaveLength(9);
  });

  it('does not hold again an edge a reviewer cleared, until the ring gains an account on its devices', async () => {
    const cleared = ringEdges[0]!;
    const [firstKey] = await keyOf(cleared);
    await insertVerdict(db(), {
      id: `clear-${cleared}`,
      edgeId: cleared,
      verdict: 'clear',
      reason: 'a family, checked',
      decidedBy: 'admin-key:test',
    });
    expect(await scan('scan-3')).toMatchObject({ held: 0, clearedBefore: 1, alreadyHeldOrVoided: 9 });
    expect((await holdsOn([cleared])).map((h) => h.verdict)).toEqual(['hold', 'clear']);

    // One more account on the ring's phone, referred by a ring member: the ring grew.
    const [newcomer] = await accounts('ring', 1);
    await seen(newcomer!, 'device', 'phone-ring');
    const newEdge = await edge(ring[3]!, newcomer!, { vested: false });
    expect(await scan('scan-4')).toMatchObject({
      held: 2, // the cleared edge, under the grown ring, and the new one
      alreadyHeldOrVoided: 5 + 4,
      clearedBefore: 0,
      verdictsRecorded: 7, // the grown ring's verdicts on its seven earning edges; the chain and family card unchanged
    });
    const keys = await keyOf(cleared);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(firstKey);
    expect(keys[1]).toMatch(/\.8$/);
    expect((await holdsOn([cleared])).map((h) => h.verdict)).toEqual(['hold', 'clear', 'hold']);
    expect(await keyOf(newEdge)).toEqual([keys[1]]);
  });
});
