// Hole 7 of issue 14, the way in: the product's server reports cancellations (POST
// /v1/cancellations, server key), each once by its id, for the retention gate of beta-seeded
// commissions to read. What the gate does with them: test/workflow/retention-gate.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup } from '../support/graph.ts';

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

let n = 0;
const id = () => `sub_cancel_${Date.now().toString(36)}_${++n}`;
const report = (json: Record<string, unknown>, key = TEST_KEYS.server, headers: Record<string, string> = {}) =>
  api.request('/v1/cancellations', { json, key, headers });
const rows = (cancellationId: string) =>
  database.db.any(sql.type(z.object({ user_id: z.uuid(), cancelled_at: z.date() }))`
    SELECT user_id, cancelled_at FROM cancellations WHERE id = ${cancellationId}`);

describe('hole 7: POST /v1/cancellations', () => {
  it('records a cancellation once by its id: the same report again answers the same record', async () => {
    const user = await signup(api);
    const cancellationId = id();
    const cancelledAt = new Date(Date.now() - 3_600_000).toISOString();
    const first = await report({ cancellationId, userId: user.id, cancelledAt });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ cancellationId, userId: user.id, cancelledAt, createdAt: expect.any(String) });
    const again = await report({ cancellationId, userId: user.id, cancelledAt });
    expect([again.status, again.body]).toEqual([200, first.body]);
    // A report without a time is the same report too.
    expect((await report({ cancellationId, userId: user.id })).body).toEqual(first.body);
    expect(await rows(cancellationId)).toHaveLength(1);
  });

  it('defaults the time to now', async () => {
    const user = await signup(api);
    const before = Date.now();
    const res = await report({ cancellationId: id(), userId: user.id });
    expect(res.status).toBe(201);
    const at = Date.parse(res.body.cancelledAt);
    expect(at).toBeGreaterThanOrEqual(before - 1_000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('the same id with another user or time is a 409 that changes nothing', async () => {
    const [user, other] = [await signup(api), await signup(api)];
    const cancellationId = id();
    const cancelledAt = new Date(Date.now() - 60_000).toISOString();
    expect((await report({ cancellationId, userId: user.id, cancelledAt })).status).toBe(201);
    for (const json of [
      { cancellationId, userId: other.id, cancelledAt },
      { cancellationId, userId: user.id, cancelledAt: new Date(Date.now() - 120_000).toISOString() },
    ]) {
      const res = await report(json);
      expect([res.status, res.body.error.code, res.body.error.param]).toEqual([
        409,
        'cancellation_conflict',
        'cancellationId',
      ]);
    }
    expect(await rows(cancellationId)).toEqual([{ user_id: user.id, cancelled_at: new Date(cancelledAt) }]);
  });

  it('bad input is a clear 4xx that writes nothing; only server or admin keys may report', async () => {
    const user = await signup(api);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ cancellationId: id(), userId: '00000000-0000-4000-8000-000000000999' }, 404, 'user_not_found'],
      [{ cancellationId: id(), userId: 'not-a-uuid' }, 400, 'parameter_invalid'],
      [{ userId: user.id }, 400, 'parameter_missing'],
      [{ cancellationId: 'has space', userId: user.id }, 400, 'parameter_invalid'],
      [
        { cancellationId: id(), userId: user.id, cancelledAt: new Date(Date.now() + 3_600_000).toISOString() },
        400,
        'parameter_invalid',
      ],
      [{ cancellationId: id(), userId: user.id, cancelledAt: 'yesterday' }, 400, 'parameter_invalid'],
      [{ cancellationId: id(), userId: user.id, reason: 'too expensive' }, 400, 'parameter_unknown'],
    ];
    for (const [json, status, code] of cases) {
      const res = await report(json);
      expect([res.status, res.body.error.code]).toEqual([status, code]);
    }
    expect((await api.request('/v1/cancellations', { json: { cancellationId: id(), userId: user.id } })).status).toBe(
      401,
    );
    for (const key of [TEST_KEYS.finance, TEST_KEYS.partnerA, user.token])
      expect((await report({ cancellationId: id(), userId: user.id }, key)).status).toBe(403);
    const written = await database.db.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM cancellations WHERE user_id = ${user.id}`,
    );
    expect(written).toBe(0);
  });

  it('honours Idempotency-Key like the other server events', async () => {
    const user = await signup(api);
    const json = { cancellationId: id(), userId: user.id };
    const first = await report(json, TEST_KEYS.server, { 'Idempotency-Key': json.cancellationId });
    const replay = await report(json, TEST_KEYS.server, { 'Idempotency-Key': json.cancellationId });
    expect([replay.status, replay.headers.get('idempotent-replayed'), replay.body]).toEqual([201, 'true', first.body]);
  });
});
