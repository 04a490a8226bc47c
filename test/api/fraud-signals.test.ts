// The fraud signals through the API: a signup's device id and client address (with its network), an
// activation's device id and a payment's card fingerprint are stored with their rows; bad values are
// a 400 that writes nothing; replays write nothing twice. Then what screening stored, as the admin
// reads it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createFraudActivities } from '../../activities/fraud.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, uniqueEmail } from '../support/graph.ts';

let database: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url);
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

const sightingRow = z.object({ kind: z.string(), value: z.string(), source: z.string() });
const sightingsOf = (userId: string) =>
  database.db.any(
    sql.type(
      sightingRow,
    )`SELECT kind, value, source FROM fraud_sightings WHERE user_id = ${userId} ORDER BY kind, source`,
  );
const allSightings = () =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM fraud_sightings`);
const users = () => database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM users`);
const server = (path: string, json: unknown, headers?: Record<string, string>) =>
  api.request(path, { json, key: TEST_KEYS.server, ...(headers ? { headers } : {}) });

describe('signup signals', () => {
  it('stores the device id, the client address and its network with the signup', async () => {
    const user = await signup(api, { deviceId: 'dev-7f3a' });
    // The test client calls from the loopback address; nobody announces it, so its network is its /24.
    expect(await sightingsOf(user.id)).toEqual([
      { kind: 'device', value: 'dev-7f3a', source: 'signup' },
      { kind: 'ip', value: '127.0.0.1', source: 'signup' },
      { kind: 'network', value: 'p:127.0.0.0/24', source: 'signup' },
    ]);
  });

  it('records the address even without a device id', async () => {
    const user = await signup(api);
    expect((await sightingsOf(user.id)).map((s) => s.kind)).toEqual(['ip', 'network']);
  });

  it.each([
    ['empty', ''],
    ['longer than 128 characters', 'd'.repeat(129)],
    ['not a string', 42],
  ])('refuses a device id that is %s with a 400, writing nothing', async (_case, deviceId) => {
    const [usersBefore, sightingsBefore] = [await users(), await allSightings()];
    const res = await api.request('/v1/signups', { json: { email: uniqueEmail(), deviceId } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'deviceId' });
    expect([await users(), await allSightings()]).toEqual([usersBefore, sightingsBefore]);
  });

  it('writes nothing twice on a replay: the same Idempotency-Key, or the same email again', async () => {
    const body = { email: uniqueEmail(), deviceId: 'dev-replay' };
    const headers = { 'idempotency-key': `signup-${Date.now()}` };
    const first = await api.request('/v1/signups', { json: body, headers });
    expect(first.status).toBe(201);
    const before = await allSightings();
    const replay = await api.request('/v1/signups', { json: body, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await api.request('/v1/signups', { json: body })).status).toBe(409);
    expect(await allSightings()).toBe(before);
    expect(await sightingsOf(first.body.user.id)).toHaveLength(3);
  });
});

describe('activation signals', () => {
  it('stores the device the app was built on, once however often the activation is repeated', async () => {
    const user = await signup(api);
    for (let i = 0; i < 2; i++)
      expect((await server('/v1/activations', { userId: user.id, deviceId: 'dev-builder' })).status).toBe(202);
    expect((await sightingsOf(user.id)).filter((s) => s.source === 'activation')).toEqual([
      { kind: 'device', value: 'dev-builder', source: 'activation' },
    ]);
  });

  it('refuses a bad device id with a 400 and does not activate', async () => {
    const user = await signup(api);
    const res = await server('/v1/activations', { userId: user.id, deviceId: 'x'.repeat(129) });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('deviceId');
    const activated = await database.db.oneFirst(
      sql.type(z.object({ activated_at: z.date().nullable() }))`SELECT activated_at FROM users WHERE id = ${user.id}`,
    );
    expect(activated).toBeNull();
    expect((await sightingsOf(user.id)).filter((s) => s.source === 'activation')).toEqual([]);
  });
});

describe('payment signals', () => {
  const payment = (userId: string, paymentId: string, extra: Record<string, unknown> = {}) =>
    server('/v1/payments', { paymentId, userId, amountCents: 2_500, ...extra });

  it("stores the card fingerprint on the payment and as the payer's sighting, once", async () => {
    const user = await signup(api);
    const paymentId = `ch_fp_${Date.now()}`;
    const res = await payment(user.id, paymentId, { paymentMethodFingerprint: 'fp_Xy12' });
    expect(res.status).toBe(201);
    expect(res.body.paymentMethodFingerprint).toBe('fp_Xy12');
    expect((await payment(user.id, paymentId, { paymentMethodFingerprint: 'fp_Xy12' })).status).toBe(200);
    expect((await payment(user.id, paymentId)).status).toBe(200); // a repeat that omits it is the same payment
    expect((await sightingsOf(user.id)).filter((s) => s.kind === 'card')).toEqual([
      { kind: 'card', value: 'fp_Xy12', source: `payment:${paymentId}` },
    ]);
    const other = await payment(user.id, paymentId, { paymentMethodFingerprint: 'fp_other' });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('payment_conflict');
  });

  it.each([
    ['empty', ''],
    ['longer than 200 characters', 'f'.repeat(201)],
    ['not a string', { card: 'x' }],
  ])('refuses a fingerprint that is %s with a 400, writing nothing', async (_case, paymentMethodFingerprint) => {
    const user = await signup(api);
    const paymentId = `ch_bad_${Date.now()}_${Math.random()}`;
    const res = await payment(user.id, paymentId, { paymentMethodFingerprint });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('paymentMethodFingerprint');
    expect((await server(`/v1/payments/${paymentId}`, undefined)).status).toBe(404);
    expect((await sightingsOf(user.id)).filter((s) => s.kind === 'card')).toEqual([]);
  });
});

describe("an edge's verdicts, as the admin reads them", () => {
  it('lists every rule verdict the screening stored, and the hold it raised with its rule, score and evidence', async () => {
    const referrer = await signup(api, { deviceId: 'dev-one-person' });
    const referee = await signup(api, { ref: referrer.id, deviceId: 'dev-one-person' });
    const edgeId = referee.body.edge.id as string;
    const { screenEdge } = createFraudActivities({ db: database.db });
    const screened = await screenEdge({ edgeId, stage: 'edge_write' });
    expect(screened.decision).toBe('hold');

    const res = await api.request(`/v1/admin/edges/${edgeId}/verdicts`, { key: TEST_KEYS.admin });
    expect(res.status).toBe(200);
    expect(res.body.edgeId).toBe(edgeId);
    // Every signup of this file comes from the loopback address, so the address rules score too.
    expect(res.body.verdicts).toEqual([
      expect.objectContaining({
        verdictId: `fraud:edge_write:${edgeId}:`,
        verdict: 'hold',
        decidedBy: `fraud:${screened.rules.join(',')}`,
        rule: screened.rules.join(','),
        score: screened.score,
        resolves: null,
      }),
    ]);
    expect(screened.rules).toContain('device-overlap');
    expect(res.body.verdicts[0].evidence.rules['device-overlap'].evidence).toEqual({ devices: ['dev-one-person'] });
    const rules = res.body.ruleVerdicts as { rule: string; decision: string; stage: string; subject: string }[];
    expect(rules).toHaveLength(9);
    expect(rules.every((r) => r.stage === 'edge_write' && r.subject === '')).toBe(true);
    expect(rules.find((r) => r.rule === 'device-overlap')).toMatchObject({
      decision: 'hold',
      score: 0,
      reason: expect.stringContaining("referrer's device"),
      evidence: { devices: ['dev-one-person'] },
      createdAt: expect.any(String),
    });
    // Both signed up from the loopback address: a score, as a household's would be.
    expect(rules.find((r) => r.rule === 'ip-overlap')).toMatchObject({ decision: 'score', score: 40 });
  });

  it('answers an admin verdict with empty rule fields, and 404 for an unknown edge', async () => {
    const referrer = await signup(api);
    const referee = await signup(api, { ref: referrer.id });
    const edgeId = referee.body.edge.id as string;
    await api.request(`/v1/admin/edges/${edgeId}/verdicts`, {
      json: { verdictId: `v_${Date.now()}`, verdict: 'hold', reason: 'support looked' },
      key: TEST_KEYS.admin,
    });
    const res = await api.request(`/v1/admin/edges/${edgeId}/verdicts`, { key: TEST_KEYS.admin });
    expect(res.body.verdicts).toEqual([
      expect.objectContaining({ verdict: 'hold', reason: 'support looked', rule: null, score: null, evidence: null }),
    ]);
    expect(res.body.ruleVerdicts).toEqual([]);
    const unknown = await api.request('/v1/admin/edges/00000000-0000-4000-8000-000000000999/verdicts', {
      key: TEST_KEYS.admin,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('edge_not_found');
  });
});
