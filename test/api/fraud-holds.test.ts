// Admins review holds through the API on the real stack (API -> PostgreSQL -> outbox relay -> the
// edge's workflow -> ledger): the list, paged newest first; clear and void with the reason and the
// reviewer recorded; the archive authority that voids an edge and takes back what it earned; bad
// input and other callers refused without changing anything.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { insertVerdict } from '../../db/verdicts.ts';
import { TEST_KEYS, type TestApi } from '../support/app.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import type { TestDatabase } from '../support/database.ts';
import { partner, signup } from '../support/graph.ts';
import { eventually, type RunningWorker } from '../support/temporal.ts';

let stack: TestStack;
let database: TestDatabase;
let worker: RunningWorker;
let api: TestApi;

beforeAll(async () => {
  stack = await startStack('fraud-holds');
  ({ database, worker, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

let n = 0;
const id = (label: string) => `${label}_${Date.now().toString(36)}_${++n}`;
const admin = (path: string, json?: unknown, headers?: Record<string, string>) =>
  api.request(path, { key: TEST_KEYS.admin, ...(json === undefined ? {} : { json }), ...(headers ? { headers } : {}) });
const server = (path: string, json: unknown) => api.request(path, { json, key: TEST_KEYS.server });

/** A referrer and a referee in beta: the edge between them, its workflow started by the relay. */
async function betaEdge() {
  const referrer = await signup(api);
  const referee = await signup(api, { ref: referrer.id });
  return { referrer, referee, edgeId: referee.body.edge.id as string };
}

/** A hold as the fraud rules write it: the verdict with its message, then the rule, score and evidence. */
async function ruleHold(edgeId: string, rule = 'device_overlap') {
  const holdId = `fraud:edge_write:${edgeId}:`;
  await insertVerdict(database.db, {
    id: holdId,
    edgeId,
    verdict: 'hold',
    reason: 'the referee signed up on the referrer’s device',
    decidedBy: `fraud:${rule}`,
  });
  await database.db.query(sql.unsafe`
    UPDATE edge_verdicts SET rule = ${rule}, score = 80, evidence = ${sql.jsonb({ deviceId: 'd-1', users: 2 })}
    WHERE id = ${holdId}`);
  return holdId;
}

const verdictCount = () =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM edge_verdicts`);
const heldAt = (edgeId: string) =>
  database.db.oneFirst(
    sql.type(z.object({ held_at: z.date().nullable() }))`SELECT held_at FROM edges WHERE id = ${edgeId}`,
  );
/** The edge's workflow's result, once the relay has started it and it has ended. */
const endOf = (refereeId: string) =>
  eventually(() => worker.client.workflow.getHandle(`edge:${refereeId}`).result(), 60_000);
const workflowState = (refereeId: string) => worker.client.workflow.getHandle(`edge:${refereeId}`).query(stateQuery);

describe('the holds list', () => {
  it('pages every hold of a status newest first, each naming its edge, people, rule, evidence and score', async () => {
    const edges = [await betaEdge(), await betaEdge(), await betaEdge()];
    const holds = [];
    for (const e of edges) holds.push(await ruleHold(e.edgeId));
    const first = await admin('/v1/admin/fraud/holds?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.data.map((h: { id: string }) => h.id)).toEqual([holds[2], holds[1]]);
    expect(first.body.data[0]).toEqual({
      id: holds[2],
      edgeId: edges[2]!.edgeId,
      referrerId: edges[2]!.referrer.id,
      refereeId: edges[2]!.referee.id,
      rule: 'device_overlap',
      reason: 'the referee signed up on the referrer’s device',
      evidence: { deviceId: 'd-1', users: 2 },
      score: 80,
      decidedBy: 'fraud:device_overlap',
      createdAt: expect.any(String),
      status: 'open',
      resolutionId: null,
      resolvedBy: null,
      resolvedAt: null,
      resolutionReason: null,
    });

    // Every page, to the end: the same holds, in the same order, as one long page.
    const seen: string[] = first.body.data.map((h: { id: string }) => h.id);
    let cursor: string | null = first.body.nextCursor;
    while (cursor) {
      const page = await admin(`/v1/admin/fraud/holds?limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((h: { id: string }) => h.id));
      cursor = page.body.nextCursor;
    }
    const all = await admin('/v1/admin/fraud/holds?limit=200');
    expect(all.body.nextCursor).toBeNull();
    expect(seen).toEqual(all.body.data.map((h: { id: string }) => h.id));
    expect(seen).toEqual(expect.arrayContaining(holds));
    const times = all.body.data.map((h: { createdAt: string }) => Date.parse(h.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });
});

describe('clearing and voiding a hold', () => {
  it('a clear lifts the hold (the edge vests), records the reviewer, and answers the same resolution when repeated', async () => {
    const { referrer, referee, edgeId } = await betaEdge();
    const holdId = await ruleHold(edgeId);
    expect(await heldAt(edgeId)).not.toBeNull();
    await eventually(async () => ((await workflowState(referee.id)).state === 'held' ? true : undefined));
    // Activated while held: the edge waits for the review.
    expect((await server('/v1/activations', { userId: referee.id })).status).toBe(202);
    await eventually(async () => ((await workflowState(referee.id)).activatedAt ? true : undefined));
    expect(await workflowState(referee.id)).toMatchObject({ state: 'held', waitingFor: 'clearance' });

    const path = `/v1/admin/fraud/holds/${encodeURIComponent(holdId)}/clear`;
    const cleared = await admin(path, { reason: 'a family sharing one laptop' }, { 'Idempotency-Key': `k-${holdId}` });
    expect(cleared.status).toBe(201);
    expect(cleared.body).toMatchObject({
      id: holdId,
      status: 'cleared',
      resolutionId: `review:clear:${holdId}`,
      resolvedBy: expect.stringMatching(/^admin-key:/),
      resolvedAt: expect.any(String),
      resolutionReason: 'a family sharing one laptop',
    });
    expect(await heldAt(edgeId)).toBeNull();
    await eventually(async () =>
      (await workflowState(referee.id)).state === 'awaiting_first_payment' ? true : undefined,
    );
    const edge = await admin(`/v1/edges/${edgeId}`);
    expect(edge.body.vestedAt).not.toBeNull();
    expect(edge.body.verdicts.map((v: { id: string }) => v.id)).toEqual([`review:clear:${holdId}`, holdId]);

    // The same key and body replays the answer; another clear answers the resolution it has.
    const replayed = await admin(path, { reason: 'a family sharing one laptop' }, { 'Idempotency-Key': `k-${holdId}` });
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    const again = await admin(path, { reason: 'looked again' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'cleared', resolutionReason: 'a family sharing one laptop' });
    expect((await admin('/v1/admin/fraud/holds?status=cleared&limit=200')).body.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: holdId, status: 'cleared' })]),
    );
    expect((await admin('/v1/admin/fraud/holds?limit=200')).body.data.map((h: { id: string }) => h.id)).not.toContain(
      holdId,
    );
    void referrer;
  });

  it('a cleared hold may still be voided (a new decision, ending the edge); a voided one cannot be cleared', async () => {
    const { referee, edgeId } = await betaEdge();
    const holdId = await ruleHold(edgeId);
    const base = `/v1/admin/fraud/holds/${encodeURIComponent(holdId)}`;
    expect((await admin(`${base}/clear`, { reason: 'looked fine' })).status).toBe(201);
    const voided = await admin(`${base}/void`, { reason: 'the same card paid for both accounts' });
    expect(voided.status).toBe(201);
    expect(voided.body).toMatchObject({
      status: 'voided',
      resolutionId: `review:void:${holdId}`,
      resolutionReason: 'the same card paid for both accounts',
    });
    const ended = await endOf(referee.id);
    expect(ended).toMatchObject({ state: 'voided' });
    expect((await admin(`/v1/edges/${edgeId}`)).body.voidedAt).not.toBeNull();

    const before = await verdictCount();
    const refused = await admin(`${base}/clear`, { reason: 'changed my mind' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('hold_voided');
    expect((await admin(`${base}/void`, { reason: 'again' })).status).toBe(200);
    expect(await verdictCount()).toBe(before);
    expect((await admin('/v1/admin/fraud/holds?status=voided&limit=200')).body.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: holdId, resolutionId: `review:void:${holdId}` })]),
    );
  });

  it('a hold an admin lifted through the verdicts route shows as cleared by it', async () => {
    const { edgeId } = await betaEdge();
    const holdId = await ruleHold(edgeId);
    const manual = await admin(`/v1/admin/edges/${edgeId}/verdicts`, {
      verdictId: id('manual-clear'),
      verdict: 'clear',
      reason: 'cleared by hand',
    });
    expect(manual.status).toBe(201);
    const all = await admin('/v1/admin/fraud/holds?status=all&limit=200');
    expect(all.body.data.find((h: { id: string }) => h.id === holdId)).toMatchObject({
      status: 'cleared',
      resolutionId: manual.body.verdictId,
      resolutionReason: 'cleared by hand',
    });
    expect(await heldAt(edgeId)).toBeNull();
  });
});

describe('refused: bad input and other callers, nothing changed', () => {
  it('400 for a bad status, limit, cursor or body; 404 for an unknown hold or edge; 401/403 for non-admins', async () => {
    const { edgeId } = await betaEdge();
    const holdId = await ruleHold(edgeId);
    const clear = `/v1/admin/fraud/holds/${encodeURIComponent(holdId)}/clear`;
    const voidPath = `/v1/admin/fraud/holds/${encodeURIComponent(holdId)}/void`;
    const archive = `/v1/admin/edges/${edgeId}/archive`;
    const before = await verdictCount();
    const held = await heldAt(edgeId);

    for (const query of ['status=closed', 'limit=0', 'limit=201', 'limit=x', 'cursor=bm90LWEtaG9sZA', 'other=1']) {
      const res = await admin(`/v1/admin/fraud/holds?${query}`);
      expect([query, res.status]).toEqual([query, 400]);
    }
    for (const body of [
      {},
      { reason: '' },
      { reason: '   ' },
      { reason: 'x'.repeat(501) },
      { reason: 'ok', extra: 1 },
    ]) {
      for (const path of [clear, voidPath, archive]) {
        const res = await admin(path, body);
        expect([path, JSON.stringify(body).slice(0, 40), res.status]).toEqual([
          path,
          JSON.stringify(body).slice(0, 40),
          400,
        ]);
      }
    }
    expect((await admin(archive, { reason: 'ok', terms: '' })).status).toBe(400);
    expect((await admin('/v1/admin/edges/not-a-uuid/archive', { reason: 'ok' })).status).toBe(400);
    const unknownHold = await admin('/v1/admin/fraud/holds/no-such-hold/clear', { reason: 'ok' });
    expect(unknownHold.status).toBe(404);
    expect(unknownHold.body.error.code).toBe('hold_not_found');
    expect((await admin('/v1/admin/fraud/holds/no-such-hold/void', { reason: 'ok' })).status).toBe(404);
    const unknownEdge = await admin('/v1/admin/edges/00000000-0000-4000-8000-000000000999/archive', { reason: 'ok' });
    expect(unknownEdge.status).toBe(404);
    expect(unknownEdge.body.error.code).toBe('edge_not_found');

    for (const key of [TEST_KEYS.server, TEST_KEYS.finance, TEST_KEYS.partnerA]) {
      expect((await api.request('/v1/admin/fraud/holds', { key })).status).toBe(403);
      for (const path of [clear, voidPath, archive])
        expect((await api.request(path, { key, json: { reason: 'ok' } })).status).toBe(403);
    }
    const user = await signup(api);
    expect(
      (await api.request('/v1/admin/fraud/holds', { headers: { authorization: `Bearer ${user.token}` } })).status,
    ).toBe(403);
    expect((await api.request('/v1/admin/fraud/holds')).status).toBe(401);
    for (const path of [clear, voidPath, archive])
      expect((await api.request(path, { json: { reason: 'ok' } })).status).toBe(401);

    expect(await verdictCount()).toBe(before);
    expect(await heldAt(edgeId)).toEqual(held);
    expect((await admin(`/v1/admin/fraud/holds?status=all&limit=200`)).body.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: holdId, status: 'open' })]),
    );
  });
});

describe('archive authority', () => {
  /** An approved partner (20% cash, 5% credits) and its customer, activated, with one payment priced. */
  async function earningEdge() {
    const owner = await signup(api);
    const terms = await partner(api, owner.tenantId);
    const customer = await signup(api, { ref: terms.referralCode });
    expect((await server('/v1/activations', { userId: customer.id })).status).toBe(202);
    const paymentId = id('ch');
    expect((await server('/v1/payments', { paymentId, userId: customer.id, amountCents: 5_000 })).status).toBe(201);
    const payment = await eventually(async () => {
      const res = await api.request(`/v1/payments/${paymentId}`, { key: TEST_KEYS.server });
      return res.body.commission?.status === 'earned' ? res.body : undefined;
    });
    expect(payment.commission).toMatchObject({ cashCents: 1_000, credits: 250 });
    return { owner, customer, edgeId: customer.body.edge.id as string, paymentId };
  }

  it('voids the edge under the terms and answers what it takes back, which its workflow then takes back', async () => {
    const { owner, customer, edgeId, paymentId } = await earningEdge();
    const path = `/v1/admin/edges/${edgeId}/archive`;
    const body = { reason: 'bought through their own code under a second email', terms: 'Referral terms §4.2' };
    const archived = await admin(path, body);
    expect(archived.status).toBe(201);
    expect(archived.body).toEqual({
      verdictId: `archive:${edgeId}`,
      edgeId,
      verdict: 'void',
      reason: body.reason,
      terms: 'Referral terms §4.2',
      decidedBy: expect.stringMatching(/^admin-key:/),
      createdAt: expect.any(String),
      takeBack: { asOf: expect.any(String), cashCents: 1_000, pendingCents: 1_000, payableCents: 0, credits: 250 },
    });

    const ended = await endOf(customer.id);
    expect(ended).toMatchObject({ state: 'voided', earned: { cashCents: 0, credits: 0, pendingCents: 0 } });
    const payment = await api.request(`/v1/payments/${paymentId}`, { key: TEST_KEYS.server });
    expect(payment.body.commission).toMatchObject({ cashCents: 0, credits: 0 });
    const edge = await admin(`/v1/edges/${edgeId}`);
    expect(edge.body.money).toEqual({ earnedCents: 0, pendingCents: 0, payableCents: 0, credits: 0 });
    expect(edge.body.voidedAt).not.toBeNull();
    const stats = await admin(`/v1/partners/${owner.tenantId}`);
    expect(stats.body.stats.totalEarningsCents).toBe(0);

    // Once per edge: a repeat answers the first archive, and the ledger now keeps nothing of the edge.
    const again = await admin(path, { reason: 'another reason' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      verdictId: `archive:${edgeId}`,
      reason: body.reason,
      terms: 'Referral terms §4.2',
      takeBack: { cashCents: 0, pendingCents: 0, payableCents: 0, credits: 0 },
    });
  });

  it('refuses an edge already void, and one whose workflow has ended, writing nothing', async () => {
    const { referee, edgeId } = await betaEdge();
    expect(
      (
        await admin(`/v1/admin/edges/${edgeId}/verdicts`, {
          verdictId: id('void'),
          verdict: 'void',
          reason: 'fraud',
        })
      ).status,
    ).toBe(201);
    await endOf(referee.id);
    const before = await verdictCount();
    const voided = await admin(`/v1/admin/edges/${edgeId}/archive`, { reason: 'too late' });
    expect(voided.status).toBe(409);
    expect(voided.body.error.code).toBe('edge_voided');

    const expired = await betaEdge();
    await database.db.query(sql.unsafe`UPDATE edges SET expired_at = now() WHERE id = ${expired.edgeId}`);
    const closed = await admin(`/v1/admin/edges/${expired.edgeId}/archive`, { reason: 'too late' });
    expect(closed.status).toBe(409);
    expect(closed.body.error.code).toBe('edge_closed');
    expect(await verdictCount()).toBe(before);
  });
});
