// Creating calls honour Idempotency-Key; public endpoints are rate-limited per IP.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, uniqueEmail } from '../support/graph.ts';

let database: TestDatabase;
let api: TestApi;
let limited: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url);
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
  const strict = testConfig(database.url, { RATE_LIMIT_PER_MINUTE: '5' });
  limited = await startTestApi({ config: strict, db: database.db, temporal: createTemporalClient(strict) });
});
afterAll(async () => {
  await api?.close();
  await limited?.close();
  await database?.drop();
});

const users = (email: string) =>
  database.db.oneFirst(
    sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM users WHERE email = ${email}`,
  );

describe('Idempotency-Key', () => {
  it('replays the first answer for the same key and body (without its session token), and creates once', async () => {
    const email = uniqueEmail();
    const headers = { 'idempotency-key': `signup-${email}` };
    const first = await api.request('/v1/signups', { json: { email }, headers });
    const second = await api.request('/v1/signups', { json: { email }, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(first.body.session.token).toEqual(expect.any(String));
    expect(second.body).toEqual({ ...first.body, session: null }); // a token is handed out once
    expect(second.headers.get('set-cookie')).toBeNull();
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await users(email)).toBe(1);
  });

  it('answers 409 for the same key with another body', async () => {
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    await api.request('/v1/signups', { json: { email: uniqueEmail() }, headers });
    const other = uniqueEmail();
    const res = await api.request('/v1/signups', { json: { email: other }, headers });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_reused' });
    expect(await users(other)).toBe(0);
  });

  it('replays a client error too, and keeps keys of different callers apart', async () => {
    const user = await signup(api);
    const headers = { 'idempotency-key': 'redeem-1' };
    const first = await api.request('/v1/invite-codes/FREE-MISSING1/redeem', {
      method: 'POST',
      key: user.token,
      headers,
    });
    const again = await api.request('/v1/invite-codes/FREE-MISSING1/redeem', {
      method: 'POST',
      key: user.token,
      headers,
    });
    expect([first.status, again.status]).toEqual([404, 404]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const mint = await api.request('/v1/admin/invite-codes', {
      json: { flavor: 'free', maxUses: 1 },
      key: TEST_KEYS.admin,
      headers,
    });
    expect(mint.status).toBe(201); // same key, another caller and route: its own request
    const mintAgain = await api.request('/v1/admin/invite-codes', {
      json: { flavor: 'free', maxUses: 1 },
      key: TEST_KEYS.admin,
      headers,
    });
    expect(mintAgain.body.data[0].code).toBe(mint.body.data[0].code);
  });

  it('refuses a malformed key', async () => {
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail() },
      headers: { 'idempotency-key': 'x'.repeat(300) },
    });
    expect(res.body.error.code).toBe('idempotency_key_invalid');
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the per-IP budget of a public endpoint, and changes nothing', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await limited.request('/v1/referrals/validate', { json: { code: 'x' } })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const email = uniqueEmail();
    for (let i = 0; i < 5; i++) await limited.request('/v1/signups', { json: { email: uniqueEmail() } });
    const refused = await limited.request('/v1/signups', { json: { email } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.type).toBe('rate_limit_error');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await users(email)).toBe(0);
  });
});
