// Credentials never reach the logs: a run with every kind of secret (the admin, finance, server and
// partner keys, a bearer token, a session cookie, the session cookies signup sets, a Stripe
// signature, a webhook signature header, a token in a query string) against an app logging to a
// buffer, including requests that end in 500s (error logs); then the buffer is searched for each
// secret's value.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { createLogger, REDACTED } from '../../platform/logger.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { PARTNER_A, PARTNER_B, startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, userInTenant } from '../support/graph.ts';
import { eventually } from '../support/temporal.ts';

const WEBHOOK_SECRET = 'whsec_logs_test_secret_0123456789';
const SESSION_SECRET = 'logs-test-session-secret-0123456789-abcdef';

let database: TestDatabase;
let brokenDatabase: TestDatabase;
let api: TestApi;
let broken: TestApi;
const lines: string[] = [];
const sink = { write: (line: string) => void lines.push(line) };

beforeAll(async () => {
  [database, brokenDatabase] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  const overrides = {
    SESSION_SECRET,
    STRIPE_SECRET_KEY: 'sk_test_logs',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    PUBLIC_BASE_URL: 'https://refer.example.com',
  };
  const config = testConfig(database.url, overrides);
  const temporal = createTemporalClient(config);
  api = await startTestApi({ config, db: database.db, temporal, log: createLogger('info', 'api', sink) });
  // An app whose database is gone: every call that reaches PostgreSQL fails with a 500 and an error log.
  const brokenConfig = testConfig(brokenDatabase.url, overrides);
  broken = await startTestApi({
    config: brokenConfig,
    db: brokenDatabase.db,
    temporal,
    log: createLogger('info', 'api', sink),
  });
  await brokenDatabase.drop();
  await userInTenant(database.db, PARTNER_A);
  await userInTenant(database.db, PARTNER_B);
});
afterAll(async () => {
  await api?.close();
  await broken?.close();
  await database?.drop();
});

describe('logs', () => {
  it('never hold a credential, in request, response or error logs', async () => {
    const requestIds: string[] = [];
    const call = async (target: TestApi, path: string, init: Parameters<TestApi['request']>[1] = {}) => {
      const id = `logs-${randomUUID()}`;
      requestIds.push(id);
      return target.request(path, { ...init, headers: { ...(init.headers as object), 'x-request-id': id } });
    };

    // Users: their signups set session cookies (Set-Cookie in the response log).
    const alice = await signup(api);
    const bob = await signup(api);
    const signedUp = await call(api, '/v1/signups', { json: { email: `carol-${Date.now()}@example.com` } });
    expect(signedUp.status).toBe(201);
    const carolToken: string = signedUp.body.session.token;

    const statuses = [
      (await call(api, '/v1/admin/waitlist', { key: TEST_KEYS.admin })).status,
      (await call(api, '/v1/payout-cycles', { json: { dryRun: true }, key: TEST_KEYS.finance })).status,
      (await call(api, '/v1/payments/ch_none', { key: TEST_KEYS.server })).status,
      (await call(api, `/v1/partners/${PARTNER_A}`, { key: TEST_KEYS.partnerA })).status,
      (await call(api, `/v1/partners/${PARTNER_B}`, { key: TEST_KEYS.partnerB })).status,
      (await call(api, '/v1/waitlist/me', { key: alice.token })).status,
      (await call(api, '/v1/waitlist/me', { headers: { cookie: `session=${bob.token}; theme=dark` } })).status,
      (await call(api, '/v1/waitlist/me', { key: carolToken })).status,
      (await call(api, '/v1/activations', { json: { userId: randomUUID() }, key: `not-a-key-${SESSION_SECRET}` }))
        .status,
    ];
    expect(statuses).toEqual([200, 200, 404, 404, 404, 200, 200, 200, 401]);

    const stripe = new Stripe('sk_test_logs');
    const payload = JSON.stringify({ id: `evt_${randomUUID()}`, object: 'event', type: 'charge.succeeded' });
    const stripeSignature = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    const webhook = await call(api, '/webhooks/stripe', {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature },
    });
    expect(webhook.status).toBe(200);
    const whopSignature = `whop-sig-${randomUUID()}`;
    await call(api, '/webhooks/whop', {
      json: { id: 'x' },
      headers: { 'x-whop-signature': whopSignature, 'webhook-signature': whopSignature },
    });
    const queryToken = `query-token-${randomUUID()}`;
    await call(api, `/v1/referrals/validate?token=${queryToken}&access_token=${queryToken}`, { json: { code: 'x' } });

    // Error logs: 500s on the app whose database is gone, with credentials on the request.
    expect((await call(broken, '/v1/admin/waitlist', { key: TEST_KEYS.admin })).status).toBe(500);
    expect((await call(broken, '/v1/waitlist/me', { key: alice.token })).status).toBe(500);
    expect(
      (await call(broken, '/v1/referrals/track', { json: { ref: 'x' }, headers: { cookie: `session=${bob.token}` } }))
        .status,
    ).toBe(500);

    // Every request above has been logged (a response is logged when it finishes).
    const log = await eventually(async () => {
      const text = lines.join('');
      return requestIds.every((id) => text.includes(id)) ? text : undefined;
    });
    expect(log).toContain('"level":50'); // error lines are in the run
    expect(log).toContain(REDACTED); // and the headers are logged, with their values replaced
    expect(log).toMatch(/"authorization":"\[redacted\]"/);
    expect(log).toMatch(/"set-cookie":"\[redacted\]"/);

    const stripeV1 = /v1=([0-9a-f]+)/.exec(stripeSignature)![1]!;
    const secrets: Record<string, string> = {
      ...TEST_KEYS,
      aliceToken: alice.token,
      bobCookie: bob.token,
      carolToken,
      stripeSignature,
      stripeV1,
      whopSignature,
      queryToken,
      sessionSecret: SESSION_SECRET,
      webhookSecret: WEBHOOK_SECRET,
    };
    // Tokens are also compared by their signature part, which no log should hold on its own.
    for (const name of ['aliceToken', 'bobCookie', 'carolToken'])
      secrets[`${name}Signature`] = secrets[name]!.split('.')[2]!;
    const leaked = Object.entries(secrets)
      .filter(([, value]) => log.includes(value) || log.includes(encodeURIComponent(value)))
      .map(([name]) => name);
    expect(leaked).toEqual([]);
  });
});
