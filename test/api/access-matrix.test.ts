// Every route against every kind of caller: anonymous, a user, partner A, partner B, admin (and the
// server and finance keys). 401 without credentials, 403 without the role, 404 for another
// tenant's object. The matrix must cover every route the app mounts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { apiRoutes } from '../../api/app.ts';
import { createLogger } from '../../platform/logger.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { PARTNER_A, PARTNER_B, startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { partner, signup, uniqueEmail, userInTenant, type SignedUp } from '../support/graph.ts';

let database: TestDatabase;
let api: TestApi;
let user: SignedUp;
/** An edge whose referrer is partner A's tenant owner (its workflow never starts: no relay runs here). */
let partnerAEdgeId: string;
let routeKeys: string[];

const CALLERS = ['anonymous', 'user', 'partnerA', 'partnerB', 'admin', 'server', 'finance'] as const;
type Caller = (typeof CALLERS)[number];

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url);
  const temporal = createTemporalClient(config);
  api = await startTestApi({ config, db: database.db, temporal });
  routeKeys = apiRoutes({ config, db: database.db, temporal, log: createLogger('silent', 't') }).map(
    (r) => `${r.method.toUpperCase()} ${r.path}`,
  );
  await userInTenant(database.db, PARTNER_A);
  await userInTenant(database.db, PARTNER_B);
  const partnerA = await partner(api, PARTNER_A);
  await partner(api, PARTNER_B);
  user = await signup(api);
  // Admitted off the waitlist: only admitted users make personal invite codes.
  await database.db.query(sql.unsafe`UPDATE users SET status = 'active' WHERE id = ${user.id}`);
  partnerAEdgeId = (await signup(api, { ref: partnerA.referralCode })).body.edge.id;
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

const keyOf = (caller: Caller): string | undefined =>
  caller === 'anonymous' ? undefined : caller === 'user' ? user.token : TEST_KEYS[caller];

type Case = {
  route: string;
  call: (key: string | undefined) => Promise<{ status: number; body: any }>;
  expect: Record<Caller, number>;
};

const all = (status: number): Record<Caller, number> =>
  Object.fromEntries(CALLERS.map((c) => [c, status])) as Record<Caller, number>;
const only = (allowed: Partial<Record<Caller, number>>, otherwise = 403): Record<Caller, number> => ({
  ...all(otherwise),
  anonymous: 401,
  ...allowed,
});

const cases = (): Case[] => [
  { route: 'GET /healthz', call: (key) => api.request('/healthz', { key }), expect: all(200) },
  { route: 'GET /readyz', call: (key) => api.request('/readyz', { key }), expect: all(200) },
  {
    route: 'POST /v1/signups',
    call: (key) => api.request('/v1/signups', { json: { email: `m-${Math.random()}@example.com` }, key }),
    expect: all(201),
  },
  // Authorised callers get 404: the user in the body does not exist.
  {
    route: 'POST /v1/activations',
    call: (key) => api.request('/v1/activations', { json: { userId: '00000000-0000-4000-8000-000000000000' }, key }),
    expect: only({ server: 404, admin: 404 }),
  },
  {
    route: 'POST /v1/admin/invite-codes',
    call: (key) => api.request('/v1/admin/invite-codes', { json: { flavor: 'free', maxUses: 1 }, key }),
    expect: only({ admin: 201 }),
  },
  {
    route: 'POST /v1/invite-codes',
    call: (key) => api.request('/v1/invite-codes', { json: { maxUses: 1 }, key }),
    expect: only({ user: 201 }),
  },
  {
    route: 'POST /v1/invite-codes/{code}/redeem',
    call: (key) => api.request('/v1/invite-codes/FREE-NOSUCH12/redeem', { method: 'POST', key }),
    expect: only({ user: 404 }),
  },
  {
    route: 'POST /v1/admin/partners',
    call: (key) => api.request('/v1/admin/partners', { json: { tenantId: user.tenantId }, key }),
    expect: only({ admin: 201 }),
  },
  {
    route: 'PATCH /v1/admin/partners/{id}',
    call: (key) =>
      api.request(`/v1/admin/partners/${PARTNER_B}`, { method: 'PATCH', json: { payoutThresholdCents: 7000 }, key }),
    expect: only({ admin: 200 }),
  },
  {
    route: 'POST /v1/admin/partners/{id}/approve',
    call: (key) => api.request(`/v1/admin/partners/${PARTNER_B}/approve`, { method: 'POST', key }),
    expect: only({ admin: 200 }),
  },
  // Partner A's record: A and admin see it; B, a user of another tenant, get 404.
  {
    route: 'GET /v1/partners/{id}',
    call: (key) => api.request(`/v1/partners/${PARTNER_A}`, { key }),
    expect: only({ partnerA: 200, admin: 200, partnerB: 404, user: 404 }),
  },
  {
    route: 'POST /v1/referrals/validate',
    call: (key) => api.request('/v1/referrals/validate', { json: { code: 'nobody' }, key }),
    expect: all(200),
  },
  {
    route: 'POST /v1/referrals/track',
    call: (key) => api.request('/v1/referrals/track', { json: { ref: 'nobody1234' }, key }),
    expect: only({ user: 400 }),
  },
  // An admin attributes a user after signup; the ref names nobody, so the admin gets 400.
  {
    route: 'POST /v1/admin/attributions',
    call: (key) =>
      api.request('/v1/admin/attributions', { json: { refereeId: user.id, ref: 'nobody1234', reason: 'r' }, key }),
    expect: only({ admin: 400 }),
  },
  { route: 'GET /r/{code}', call: (key) => api.request('/r/nobody', { key, redirect: 'manual' }), expect: all(302) },
  {
    route: 'POST /v1/listings',
    call: (key) => api.request('/v1/listings', { json: { title: 'A listing' }, key }),
    expect: only({ user: 201 }),
  },
  {
    route: 'GET /v1/listings/{id}',
    call: (key) => api.request('/v1/listings/00000000-0000-4000-8000-0000000000ff', { key }),
    expect: all(404),
  },
  {
    route: 'POST /v1/tenants/{id}/sub-accounts',
    call: (key) =>
      api.request(`/v1/tenants/${PARTNER_A}/sub-accounts`, {
        json: { name: 'Client', ownerEmail: uniqueEmail('client') },
        key,
      }),
    expect: only({ partnerA: 201, admin: 201, partnerB: 404, user: 404 }),
  },
  {
    route: 'GET /v1/tenants/{id}/sub-accounts',
    call: (key) => api.request(`/v1/tenants/${PARTNER_A}/sub-accounts`, { key }),
    expect: only({ partnerA: 200, admin: 200, partnerB: 404, user: 404 }),
  },
  // Money events: the server key (and admin); bodies name nobody, so authorised callers get 404.
  {
    route: 'POST /v1/payments',
    call: (key) =>
      api.request('/v1/payments', {
        json: { paymentId: `ch_${Math.random()}`, userId: '00000000-0000-4000-8000-000000000000', amountCents: 100 },
        key,
      }),
    expect: only({ server: 404, admin: 404 }),
  },
  {
    route: 'GET /v1/payments/{paymentId}',
    call: (key) => api.request('/v1/payments/ch_none', { key }),
    expect: only({ server: 404, admin: 404, finance: 404 }),
  },
  {
    route: 'POST /v1/refunds',
    call: (key) =>
      api.request('/v1/refunds', {
        json: { refundId: `re_${Math.random()}`, paymentId: 'ch_none', amountCents: 100 },
        key,
      }),
    expect: only({ server: 404, admin: 404 }),
  },
  {
    route: 'POST /v1/cancellations',
    call: (key) =>
      api.request('/v1/cancellations', {
        json: { cancellationId: `sub_${Math.random()}`, userId: '00000000-0000-4000-8000-000000000000' },
        key,
      }),
    expect: only({ server: 404, admin: 404 }),
  },
  // An edge of partner A's tenant: A and admin see it; B, a user of another tenant, get 404.
  {
    route: 'GET /v1/edges/{id}',
    call: (key) => api.request(`/v1/edges/${partnerAEdgeId}`, { key }),
    expect: only({ partnerA: 200, admin: 200, partnerB: 404, user: 404 }),
  },
  {
    route: 'GET /v1/admin/edges/{edgeId}/verdicts',
    call: (key) => api.request(`/v1/admin/edges/${partnerAEdgeId}/verdicts`, { key }),
    expect: only({ admin: 200 }),
  },
  {
    route: 'POST /v1/admin/edges/{edgeId}/verdicts',
    call: (key) =>
      api.request('/v1/admin/edges/00000000-0000-4000-8000-000000000000/verdicts', {
        json: { verdictId: 'v1', verdict: 'hold', reason: 'r' },
        key,
      }),
    expect: only({ admin: 404 }),
  },
  // Fraud review: admin only; the hold and the edge named do not exist.
  {
    route: 'GET /v1/admin/fraud/holds',
    call: (key) => api.request('/v1/admin/fraud/holds', { key }),
    expect: only({ admin: 200 }),
  },
  ...(['clear', 'void'] as const).map((decision) => ({
    route: `POST /v1/admin/fraud/holds/{id}/${decision}`,
    call: (key: string | undefined) =>
      api.request(`/v1/admin/fraud/holds/none/${decision}`, { json: { reason: 'r' }, key }),
    expect: only({ admin: 404 }),
  })),
  {
    route: 'POST /v1/admin/edges/{id}/archive',
    call: (key) =>
      api.request('/v1/admin/edges/00000000-0000-4000-8000-000000000000/archive', { json: { reason: 'r' }, key }),
    expect: only({ admin: 404 }),
  },
  // Finance: previews (and cycles), payouts marked paid by hand; admin may read a cycle.
  {
    route: 'POST /v1/payout-cycles',
    call: (key) => api.request('/v1/payout-cycles', { json: { dryRun: true }, key }),
    expect: only({ finance: 200 }),
  },
  {
    route: 'GET /v1/payout-cycles/{id}',
    call: (key) => api.request('/v1/payout-cycles/none', { key }),
    expect: only({ finance: 404, admin: 404 }),
  },
  {
    route: 'POST /v1/payouts/{id}/mark-paid',
    call: (key) => api.request('/v1/payouts/none/mark-paid', { json: { reference: 'r' }, key }),
    expect: only({ finance: 404 }),
  },
  // Signed by Stripe, not by our credentials: without webhook settings every caller gets 400.
  {
    route: 'POST /webhooks/stripe',
    call: (key) => api.request('/webhooks/stripe', { json: { id: 'evt_1', type: 'account.updated' }, key }),
    expect: all(400),
  },
  // Whop: a buyer (a user) creates a checkout (400 here: Whop is not configured in this run); Whop signs its
  // webhooks (without webhook settings every caller gets 400); admin and finance read what reconciliation
  // could not explain.
  {
    route: 'POST /v1/checkouts',
    call: (key) => api.request('/v1/checkouts', { json: { planId: 'plan_matrix' }, key }),
    expect: only({ user: 400 }),
  },
  {
    route: 'POST /webhooks/whop',
    call: (key) => api.request('/webhooks/whop', { json: { type: 'payment.succeeded', data: {} }, key }),
    expect: all(400),
  },
  {
    route: 'GET /v1/admin/whop/reconciliation',
    call: (key) => api.request('/v1/admin/whop/reconciliation', { key }),
    expect: only({ admin: 200, finance: 200 }),
  },
  // The waitlist: a user reads their own place; waves, the wait and the forecast are admin's (finance may forecast).
  { route: 'GET /v1/waitlist/me', call: (key) => api.request('/v1/waitlist/me', { key }), expect: only({ user: 200 }) },
  // Credits: a user reads their own; only the product's server key spends (404: no such user).
  { route: 'GET /v1/credits/me', call: (key) => api.request('/v1/credits/me', { key }), expect: only({ user: 200 }) },
  {
    route: 'POST /v1/credits/spend',
    call: (key) =>
      api.request('/v1/credits/spend', {
        json: { spendId: 'matrix-spend', userId: '00000000-0000-4000-8000-000000000000', credits: 1 },
        key,
      }),
    expect: only({ server: 404 }),
  },
  {
    route: 'GET /v1/invite-codes/seats',
    call: (key) => api.request('/v1/invite-codes/seats', { key }),
    expect: only({ user: 200 }),
  },
  {
    route: 'GET /v1/admin/invite-admissions',
    call: (key) => api.request('/v1/admin/invite-admissions', { key }),
    expect: only({ admin: 200 }),
  },
  {
    route: 'POST /v1/admin/waves',
    call: (key) => api.request('/v1/admin/waves', { json: { seatCap: 1, opensAt: '2099-01-01T09:00:00Z' }, key }),
    expect: only({ admin: 201 }),
  },
  {
    route: 'GET /v1/admin/waves/{id}',
    call: (key) => api.request('/v1/admin/waves/00000000-0000-4000-8000-000000000000', { key }),
    expect: only({ admin: 404 }),
  },
  {
    route: 'POST /v1/admin/waves/{id}/admit',
    call: (key) => api.request('/v1/admin/waves/00000000-0000-4000-8000-000000000000/admit', { method: 'POST', key }),
    expect: only({ admin: 404 }),
  },
  {
    route: 'GET /v1/admin/waitlist',
    call: (key) => api.request('/v1/admin/waitlist', { key }),
    expect: only({ admin: 200 }),
  },
  {
    route: 'GET /v1/admin/forecast',
    call: (key) => api.request('/v1/admin/forecast?release=10', { key }),
    expect: only({ admin: 200, finance: 200 }),
  },
  {
    route: 'GET /v1/users/{id}/downline',
    call: (key) => api.request(`/v1/users/${user.id}/downline`, { key }),
    expect: only({ user: 200, admin: 200 }),
  },
  // The share moment and the public counts: a user reads their own share; the card and the counts are public.
  { route: 'GET /v1/share/me', call: (key) => api.request('/v1/share/me', { key }), expect: only({ user: 200 }) },
  {
    route: 'GET /og/{code}.png',
    call: (key) => api.request(`/og/${user.referralCode}.png`, { key }),
    expect: all(200),
  },
  { route: 'GET /v1/stats/public', call: (key) => api.request('/v1/stats/public', { key }), expect: all(200) },
  // Sessions: a user signs out or rotates the token they call with (a fresh user's, so the shared
  // user's token stays valid for the other cases).
  {
    route: 'POST /v1/sessions/sign-out',
    call: async (key) =>
      api.request('/v1/sessions/sign-out', {
        method: 'POST',
        key: key === user.token ? (await signup(api)).token : key,
      }),
    expect: only({ user: 204 }),
  },
  {
    route: 'POST /v1/sessions/refresh',
    call: async (key) =>
      api.request('/v1/sessions/refresh', {
        method: 'POST',
        key: key === user.token ? (await signup(api)).token : key,
      }),
    expect: only({ user: 201 }),
  },
  // The launch flip, admin's alone. Last: admin's POST flips this file's program to public (202; the
  // flip's workflow waits in the outbox, no relay runs here).
  {
    route: 'GET /v1/admin/launch',
    call: (key) => api.request('/v1/admin/launch', { key }),
    expect: only({ admin: 200 }),
  },
  {
    route: 'POST /v1/admin/launch',
    call: (key) => api.request('/v1/admin/launch', { method: 'POST', key }),
    expect: only({ admin: 202 }),
  },
];

describe('access matrix', () => {
  it('covers every route the app mounts', () => {
    expect(
      cases()
        .map((c) => c.route)
        .sort(),
    ).toEqual([...routeKeys].sort());
  });

  it.each(CALLERS)('answers %s with the expected status on every route', async (caller) => {
    const seen: Record<string, number> = {};
    const wanted: Record<string, number> = {};
    for (const c of cases()) {
      seen[c.route] = (await c.call(keyOf(caller))).status;
      wanted[c.route] = c.expect[caller];
    }
    expect(seen).toEqual(wanted);
  });

  it('never lets partner B change or read partner A, and hides whether it exists', async () => {
    const read = await api.request(`/v1/partners/${PARTNER_A}`, { key: TEST_KEYS.partnerB });
    const missing = await api.request('/v1/partners/00000000-0000-4000-8000-00000000ffff', { key: TEST_KEYS.partnerB });
    expect(read.status).toBe(404);
    expect([read.body.error.type, read.body.error.code]).toEqual([missing.body.error.type, missing.body.error.code]);
    const change = await api.request(`/v1/admin/partners/${PARTNER_A}`, {
      method: 'PATCH',
      json: { salesCommissionBps: 9000 },
      key: TEST_KEYS.partnerB,
    });
    expect(change.status).toBe(403);
    const own = await api.request(`/v1/admin/partners/${PARTNER_B}`, {
      method: 'PATCH',
      json: { salesCommissionBps: 9000 },
      key: TEST_KEYS.partnerB,
    });
    expect(own.status).toBe(403); // partners cannot set their own rate either
    expect((await api.request(`/v1/partners/${PARTNER_A}`, { key: TEST_KEYS.admin })).body.salesCommissionBps).toBe(
      2000,
    );
  });
});
