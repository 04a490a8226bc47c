// Bad input gets a clear 4xx and changes nothing (found by the security probe as 500s): a NUL in
// any string of a body, query or path, a body that does not decompress, a path whose %-escapes do
// not decode, a signed but malformed Stripe event, a token whose subject is not a user id. Also:
// unsupported methods on known paths are 405 with Allow, and currency codes are taken in either case.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { sql } from 'slonik';
import Stripe from 'stripe';
import { z } from 'zod';
import { createAuthenticator } from '../../api/auth.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, type SignedUp } from '../support/graph.ts';

const WEBHOOK_SECRET = 'whsec_input_test_secret_0123456789';

let database: TestDatabase;
let api: TestApi;
let sessionSecret: string;
let user: SignedUp;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url, {
    STRIPE_SECRET_KEY: 'sk_test_input',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  sessionSecret = config.sessionSecret;
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
  user = await signup(api);
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

/** Rows in the tables a bad request could have touched. */
const footprint = () =>
  database.db.one(
    sql.type(z.object({ users: z.number(), codes: z.number(), payments: z.number(), events: z.number() }))`
      SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM invite_codes) AS codes,
             (SELECT count(*)::int FROM payments) AS payments, (SELECT count(*)::int FROM stripe_events) AS events`,
  );

describe('a NUL character', () => {
  const NUL = '\u0000';
  const cases: [string, () => Promise<{ status: number; body: any }>, string][] = [
    [
      'in a public body field',
      () => api.request('/v1/signups', { json: { email: 'a@b.co', ref: `x${NUL}y` } }),
      'nul_character',
    ],
    [
      'in a public body field (validate)',
      () => api.request('/v1/referrals/validate', { json: { code: `a${NUL}` } }),
      'nul_character',
    ],
    [
      'in a body key',
      () =>
        api.request('/v1/admin/invite-codes', {
          json: { flavor: 'free', maxUses: 1, metadata: { [`k${NUL}`]: 'v' } },
          key: TEST_KEYS.admin,
        }),
      'nul_character',
    ],
    [
      'deep in a body value',
      () =>
        api.request('/v1/admin/invite-codes', {
          json: { flavor: 'free', maxUses: 1, metadata: { a: [{ b: `c${NUL}` }] } },
          key: TEST_KEYS.admin,
        }),
      'nul_character',
    ],
    [
      'in a signed-in body field',
      () =>
        api.request('/v1/payments', {
          json: { paymentId: `ch_${NUL}`, userId: user.id, amountCents: 100 },
          key: TEST_KEYS.server,
        }),
      'nul_character',
    ],
    ['in a query', () => api.request(`/v1/users/${user.id}/downline?cursor=%00`, { key: user.token }), 'nul_character'],
    ['in a public path', () => api.request('/r/ab%00cd', { redirect: 'manual' }), 'path_invalid'],
    ['in a signed-in path', () => api.request('/v1/payments/ch%00x', { key: TEST_KEYS.server }), 'path_invalid'],
  ];
  it.each(cases)('%s is a 400 that changes nothing', async (_name, call, code) => {
    const before = await footprint();
    const res = await call();
    expect([res.status, res.body.error.code]).toEqual([400, code]);
    expect(await footprint()).toEqual(before);
  });
});

describe('a body that does not decompress', () => {
  it.each(['gzip', 'deflate', 'br'])('(%s) is a 400', async (encoding) => {
    const before = await footprint();
    const res = await api.request('/v1/signups', {
      method: 'POST',
      body: Buffer.from('this is not compressed at all, just bytes'),
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
    });
    expect([res.status, res.body.error.code]).toEqual([400, 'body_encoding_invalid']);
    expect(await footprint()).toEqual(before);
  });
});

describe('a path whose %-escape is broken', () => {
  it.each(['/r/%E0%A4%A', '/v1/users/%E0%A4%A/downline', '/v1/nothing/%ZZ'])('(%s) is a 400', async (path) => {
    const res = await api.request(path, { redirect: 'manual', key: user.token });
    expect([res.status, res.body.error.code]).toEqual([400, 'path_invalid']);
  });
});

describe('a Stripe event, signed but malformed', () => {
  const stripe = new Stripe('sk_test_input');
  const post = (event: unknown) => {
    const payload = JSON.stringify(event);
    return fetch(`${api.baseUrl}/webhooks/stripe`, {
      method: 'POST',
      body: payload,
      headers: {
        'content-type': 'application/json',
        'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }),
      },
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  };
  const events: [string, unknown][] = [
    ['account.updated without data', { id: `evt_${randomUUID()}`, type: 'account.updated' }],
    ['account.updated with null data', { id: `evt_${randomUUID()}`, type: 'account.updated', data: null }],
    [
      'account.updated whose account id is a number',
      { id: `evt_${randomUUID()}`, type: 'account.updated', data: { object: { id: 42, payouts_enabled: true } } },
    ],
    [
      'account.updated whose flags are not booleans',
      {
        id: `evt_${randomUUID()}`,
        type: 'account.updated',
        data: { object: { id: 'acct_1', payouts_enabled: 'yes', requirements: 'none' } },
      },
    ],
    ['an empty event id', { id: '', type: 'charge.succeeded' }],
  ];
  it.each(events)('(%s) is a 400 that records nothing', async (_name, event) => {
    const before = await footprint();
    const res = await post(event);
    expect([res.status, res.body.error.code]).toEqual([400, 'event_malformed']);
    expect(await footprint()).toEqual(before);
  });

  it('while a well-formed one is still taken', async () => {
    const res = await post({ id: `evt_${randomUUID()}`, type: 'charge.succeeded', data: { object: {} } });
    expect(res.status).toBe(200);
  });
});

describe('a token whose subject is not a user id', () => {
  it.each(['not-a-uuid', "1' OR '1'='1", ''])('(sub %j) is a 401', async (sub) => {
    // Signed with the app's own key: only the claims are wrong.
    const auth = createAuthenticator([], sessionSecret);
    const { token } = await auth.issueSession({ userId: sub, tenantId: user.tenantId });
    const res = await api.request('/v1/waitlist/me', { key: token });
    expect([res.status, res.body.error.code]).toEqual([401, 'invalid_credentials']);
  });

  it('and so is one whose tenant is not a uuid', async () => {
    const { token } = await createAuthenticator([], sessionSecret).issueSession({ userId: user.id, tenantId: 'x' });
    expect((await api.request('/v1/waitlist/me', { key: token })).status).toBe(401);
  });
});

/** A raw HTTP request: fetch refuses TRACE. */
function raw(method: string, path: string): Promise<{ status: number; allow: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${api.baseUrl}${path}`, { method }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, allow: res.headers.allow, body: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('methods', () => {
  it('answers TRACE and other unsupported methods on a known path 405 with Allow', async () => {
    expect(await raw('TRACE', '/v1/signups')).toMatchObject({
      status: 405,
      allow: 'POST',
      body: { error: { code: 'method_not_allowed' } },
    });
    expect(await raw('TRACE', '/healthz')).toMatchObject({ status: 405, allow: 'GET, HEAD' });
    expect(await raw('DELETE', `/v1/users/${user.id}/downline`)).toMatchObject({ status: 405, allow: 'GET, HEAD' });
    expect(await raw('PUT', '/v1/admin/partners/00000000-0000-4000-8000-000000000001')).toMatchObject({
      status: 405,
      allow: 'PATCH',
    });
    expect(await raw('TRACE', '/openapi.json')).toMatchObject({ status: 405, allow: 'GET, HEAD' });
    expect((await raw('TRACE', '/v1/no-such-thing')).status).toBe(404);
  });
});

describe('currency', () => {
  it('is taken in either case, as Stripe sends it, and kept upper-case', async () => {
    const payer = await signup(api);
    const lower = await api.request('/v1/payments', {
      json: { paymentId: `ch_${randomUUID()}`, userId: payer.id, amountCents: 1_000, currency: 'usd' },
      key: TEST_KEYS.server,
    });
    expect([lower.status, lower.body.currency]).toEqual([201, 'USD']);
    const upper = await api.request('/v1/payments', {
      json: { paymentId: `ch_${randomUUID()}`, userId: payer.id, amountCents: 1_000, currency: 'USD' },
      key: TEST_KEYS.server,
    });
    expect([upper.status, upper.body.currency]).toEqual([201, 'USD']);
    const stored = await database.db.anyFirst(
      sql.type(z.object({ currency: z.string() }))`SELECT currency FROM payments WHERE user_id = ${payer.id}`,
    );
    expect(stored).toEqual(['USD', 'USD']);
    const other = await api.request('/v1/payments', {
      json: { paymentId: `ch_${randomUUID()}`, userId: payer.id, amountCents: 1_000, currency: 'eur' },
      key: TEST_KEYS.server,
    });
    expect([other.status, other.body.error.param]).toEqual([400, 'currency']);
  });
});
