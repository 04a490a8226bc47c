// The HTTP contract on the real app: JSON errors for every failure, auth statuses, readiness,
// request ids and the served OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { BODY_LIMIT } from '../../api/app.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let api: TestApi;
let apiWithoutTemporal: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url);
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
  // Nothing listens on port 1: this app's Temporal is down.
  const down = testConfig(database.url, { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  apiWithoutTemporal = await startTestApi({ config: down, db: database.db, temporal: createTemporalClient(down) });
});
afterAll(async () => {
  await api?.close();
  await apiWithoutTemporal?.close();
  await database?.drop();
});

const errorShape = z.strictObject({
  error: z.strictObject({
    type: z.string(),
    code: z.string(),
    message: z.string().min(1),
    param: z.string().optional(),
  }),
});
const userCount = () =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM users`);

describe('health', () => {
  it('answers /healthz while the process is up', async () => {
    expect(await api.request('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('answers /readyz 200 when PostgreSQL and Temporal answer', async () => {
    const res = await api.request('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ready', down: [] });
  });

  it('answers /readyz 503 naming what is down', async () => {
    const res = await apiWithoutTemporal.request('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.down).toEqual(['temporal']);
    expect(res.body.checks.postgres.ok).toBe(true);
    expect(res.body.checks.temporal.error).toEqual(expect.any(String));
  });
});

describe('errors', () => {
  const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
    ['an unknown route', () => api.request('/v1/nothing-here'), 404, 'route_not_found'],
    ['a known path with the wrong method', () => api.request('/v1/signups'), 405, 'method_not_allowed'],
    [
      'bad JSON',
      () =>
        api.request('/v1/signups', {
          method: 'POST',
          body: '{"email":',
          headers: { 'content-type': 'application/json' },
        }),
      400,
      'invalid_json',
    ],
    [
      'an oversized body',
      () => api.request('/v1/signups', { json: { email: 'a@b.co', pad: 'x'.repeat(200 * 1024) } }),
      413,
      'body_too_large',
    ],
    [
      'a body that is not JSON',
      () =>
        api.request('/v1/signups', {
          method: 'POST',
          body: 'email=a@b.co',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      415,
      'unsupported_media_type',
    ],
    [
      'an unknown field',
      () => api.request('/v1/signups', { json: { email: 'a@b.co', commissionBps: 9000 } }),
      400,
      'parameter_unknown',
    ],
    ['a missing field', () => api.request('/v1/signups', { json: {} }), 400, 'parameter_missing'],
    [
      'an invalid field',
      () => api.request('/v1/signups', { json: { email: 'not-an-email' } }),
      400,
      'parameter_invalid',
    ],
    ['a JSON array body', () => api.request('/v1/signups', { json: [1, 2] }), 400, 'parameter_invalid'],
  ];
  it.each(cases)('answers %s with the error shape and changes nothing', async (_name, call, status, code) => {
    const before = await userCount();
    const res = await call();
    expect(res.status).toBe(status);
    expect(errorShape.parse(res.body).error.code).toBe(code);
    expect(await userCount()).toBe(before);
  });

  it('names the offending parameter', async () => {
    const res = await api.request('/v1/signups', { json: { email: 'a@b.co', commissionBps: 9000 } });
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'commissionBps' });
    expect(BODY_LIMIT).toBe('100kb');
  });

  it('answers a second signup with the same email (any case) 409', async () => {
    expect((await api.request('/v1/signups', { json: { email: 'twice@example.com' } })).status).toBe(201);
    const again = await api.request('/v1/signups', { json: { email: 'TWICE@example.com' } });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ type: 'conflict_error', code: 'email_taken', param: 'email' });
  });
});

describe('auth', () => {
  const activation = { userId: '00000000-0000-4000-8000-000000000000' };

  it('answers 401 without credentials', async () => {
    const res = await api.request('/v1/activations', { json: activation });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'missing_credentials' });
  });

  it('answers 401 for an unknown key, a forged token or a malformed header', async () => {
    for (const headers of [{ authorization: 'Bearer not-a-key-or-token' }, { authorization: 'Basic abc' }]) {
      const res = await api.request('/v1/activations', { json: activation, headers });
      expect(res.status).toBe(401);
    }
    const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwidGlkIjoieSJ9.c2lnbmF0dXJl';
    expect((await api.request('/v1/activations', { json: activation, key: forged })).status).toBe(401);
  });

  it('answers 403 for credentials without the role: a finance key or a user token', async () => {
    expect((await api.request('/v1/activations', { json: activation, key: TEST_KEYS.finance })).status).toBe(403);
    const signup = await api.request('/v1/signups', { json: { email: 'user-token@example.com' } });
    const res = await api.request('/v1/activations', { json: activation, key: signup.body.session.token });
    expect(res.status).toBe(403);
    expect(res.body.error.type).toBe('permission_error');
    const cookie = await api.request('/v1/activations', {
      json: activation,
      headers: { cookie: `session=${signup.body.session.token}` },
    });
    expect(cookie.status).toBe(403);
  });

  it('lets the server key through', async () => {
    const res = await api.request('/v1/activations', { json: activation, key: TEST_KEYS.server });
    expect(res.status).toBe(404); // authorised; the user does not exist
  });
});

describe('request ids', () => {
  it('echoes a caller request id, or makes one', async () => {
    const mine = await api.request('/healthz', { headers: { 'x-request-id': 'req-abc.123' } });
    expect(mine.headers.get('x-request-id')).toBe('req-abc.123');
    const made = await api.request('/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('documentation', () => {
  it('serves the OpenAPI document generated from the route schemas', async () => {
    const res = await api.request('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/v1/signups', '/v1/activations', '/healthz', '/readyz']),
    );
  });

  it('serves a readable reference page with its assets', async () => {
    const page = await api.request('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const script = await api.request('/docs/assets/swagger-ui-bundle.js');
    expect(script.status).toBe(200);
  });
});
