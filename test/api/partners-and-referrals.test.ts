// Partners (defaults, bounds, approval), validation and tracking of referrals, the referrer cookie
// and share token across an auth hop, running stats and the downline.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTemporalClient } from '../../platform/temporal.ts';
import { edgeLifecycleStarts } from '../../db/edges.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { partner, signup, uniqueEmail } from '../support/graph.ts';

let database: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url, { PUBLIC_BASE_URL: 'https://refer.example.com' });
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

const admin = (path: string, json?: unknown, method?: string) =>
  api.request(path, { json, key: TEST_KEYS.admin, ...(method ? { method } : {}) });

describe('partner program', () => {
  it('creates a partner with sensible defaults, unapproved, with a referral code and affiliate link', async () => {
    const owner = await signup(api);
    const res = await admin('/v1/admin/partners', { tenantId: owner.tenantId });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: owner.tenantId,
      salesCommissionBps: 2000,
      creditCommissionBps: 500,
      recurring: true,
      recurringMonths: 12,
      payoutMethod: 'stripe',
      payoutThresholdCents: 5000,
      payoutFrequency: 'monthly',
      approved: false,
      approvedBy: null,
      approvedAt: null,
      stats: {
        totalReferrals: 0,
        activeReferrals: 0,
        totalEarningsCents: 0,
        pendingPayoutCents: 0,
        lifetimePayoutCents: 0,
        whop: { earnedCents: 0 },
      },
    });
    expect(res.body.affiliateLink).toBe(`https://refer.example.com/r/${res.body.referralCode}`);
    expect((await admin('/v1/admin/partners', { tenantId: owner.tenantId })).body.error.code).toBe('partner_exists');
  });

  it('rejects unknown fields and out-of-range rates, through create and update alike', async () => {
    const owner = await signup(api);
    for (const body of [
      { approved: true },
      { salesCommissionBps: 10_001 },
      { creditCommissionBps: -1 },
      { recurringMonths: 0 },
      { payoutMethod: 'cash' },
      { salesCommissionBps: 12.5 },
    ]) {
      const res = await admin('/v1/admin/partners', { tenantId: owner.tenantId, ...body });
      expect(res.status).toBe(400);
    }
    await admin('/v1/admin/partners', { tenantId: owner.tenantId });
    for (const body of [{ approvedBy: 'me' }, { salesCommissionBps: 20_000 }, { referralCode: 'mine' }]) {
      const res = await admin(`/v1/admin/partners/${owner.tenantId}`, body, 'PATCH');
      expect(res.status).toBe(400);
    }
    const ok = await admin(
      `/v1/admin/partners/${owner.tenantId}`,
      { salesCommissionBps: 3000, recurring: false, stripeAccountId: 'acct_123' },
      'PATCH',
    );
    expect(ok.body).toMatchObject({
      salesCommissionBps: 3000,
      recurring: false,
      stripeAccountId: 'acct_123',
      creditCommissionBps: 500,
    });
    expect(
      (await admin('/v1/admin/partners', { tenantId: '00000000-0000-4000-8000-00000000ffff' })).body.error.code,
    ).toBe('tenant_not_found');
  });

  it("records the approver and time once; only then do the partner's codes validate, track and sign up", async () => {
    const owner = await signup(api);
    const created = await partner(api, owner.tenantId, { approved: false });
    const code = created.referralCode;
    expect((await api.request('/v1/referrals/validate', { json: { code } })).body).toEqual({
      valid: false,
      reason: 'partner_not_approved',
    });
    const refused = await api.request('/v1/signups', { json: { email: uniqueEmail(), ref: code } });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'referrer_not_approved']);
    const someone = await signup(api);
    expect(
      (await api.request('/v1/referrals/track', { json: { ref: code }, key: someone.token })).body.error.code,
    ).toBe('referrer_not_approved');

    const approved = await admin(`/v1/admin/partners/${owner.tenantId}/approve`, undefined, 'POST');
    expect(approved.body.approved).toBe(true);
    expect(approved.body.approvedBy).toMatch(/^admin-key:/);
    const again = await admin(`/v1/admin/partners/${owner.tenantId}/approve`, undefined, 'POST');
    expect(again.body.approvedAt).toBe(approved.body.approvedAt);

    expect((await api.request('/v1/referrals/validate', { json: { code } })).body).toEqual({
      valid: true,
      type: 'partner',
    });
    const customer = await signup(api, { ref: code });
    expect(customer.body.edge).toMatchObject({
      referrerId: owner.id,
      source: 'partner_code',
      kind: 'intentional',
      code,
    });
    const start = (await edgeLifecycleStarts(database.db, [customer.body.edge.id])).get(customer.body.edge.id)!;
    expect(start.searchAttributes.find((a) => a.key.name === 'PartnerId')?.value).toBe(owner.tenantId);
    expect(start.summary).toContain(`partner ${owner.tenantId}`);

    // An inactive partner's code stops working again.
    await admin(`/v1/admin/partners/${owner.tenantId}`, { status: 'inactive' }, 'PATCH');
    expect((await api.request('/v1/referrals/validate', { json: { code } })).body).toEqual({
      valid: false,
      reason: 'partner_not_approved',
    });
  });

  it('counts total and active referrals from the graph', async () => {
    const owner = await signup(api);
    await partner(api, owner.tenantId);
    const referred = await Promise.all([1, 2, 3].map(() => signup(api, { ref: owner.id })));
    await database.db.query(sql.unsafe`UPDATE edges SET vested_at = now() WHERE referee_id = ${referred[0]!.id}`);
    const res = await api.request(`/v1/partners/${owner.tenantId}`, { key: TEST_KEYS.admin });
    expect(res.body.stats).toMatchObject({ totalReferrals: 3, activeReferrals: 1 });
  });
});

describe('validate', () => {
  it('answers valid or the reason why not', async () => {
    const user = await signup(api);
    expect((await api.request('/v1/referrals/validate', { json: { code: user.referralCode } })).body).toEqual({
      valid: true,
      type: 'user',
    });
    expect((await api.request('/v1/referrals/validate', { json: { code: 'nobody1234' } })).body).toEqual({
      valid: false,
      reason: 'not_found',
    });
    const [code] = (await admin('/v1/admin/invite-codes', { flavor: 'free', maxUses: 1 })).body.data;
    expect((await api.request('/v1/referrals/validate', { json: { code: code.code } })).body).toMatchObject({
      valid: true,
      type: 'invite',
      usesLeft: 1,
    });
    await api.request(`/v1/invite-codes/${code.code}/redeem`, { method: 'POST', key: user.token });
    expect((await api.request('/v1/referrals/validate', { json: { code: code.code } })).body).toEqual({
      valid: false,
      reason: 'exhausted',
    });
  });
});

describe('track', () => {
  it('binds a referral to the caller by bearer token or session cookie; first touch wins', async () => {
    const referrer = await signup(api);
    const second = await signup(api);
    const user = await signup(api);
    const first = await api.request('/v1/referrals/track', { json: { ref: referrer.referralCode }, key: user.token });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      outcome: 'edge_written',
      edge: { referrerId: referrer.id, refereeId: user.id, source: 'link' },
    });
    const later = await api.request('/v1/referrals/track', {
      json: { ref: second.id },
      // A cookie-authenticated write comes from the app's own pages (Origin: PUBLIC_BASE_URL).
      headers: { cookie: `session=${user.token}`, origin: 'https://refer.example.com' },
    });
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({
      outcome: 'already_attributed',
      edge: { id: first.body.edge.id, referrerId: referrer.id },
    });
    const events = await database.db.any(
      sql.type(
        z.object({ outcome: z.string() }),
      )`SELECT outcome FROM attribution_events WHERE referee_id = ${user.id} ORDER BY id`,
    );
    expect(events.map((e) => e.outcome)).toEqual(['edge_written', 'already_attributed']);
  });

  it('refuses self-referral, also through an alias of the same inbox', async () => {
    const me = await signup(api, { email: `jane.doe+${Date.now()}@gmail.com` });
    const alias = await signup(api, { email: `janedoe+other${Date.now()}@gmail.com` });
    const self = await api.request('/v1/referrals/track', { json: { ref: me.id }, key: me.token });
    expect([self.status, self.body.error.code]).toEqual([400, 'self_referral']);
    const viaAlias = await api.request('/v1/referrals/track', { json: { ref: me.referralCode }, key: alias.token });
    expect(viaAlias.body.error.code).toBe('self_referral');
    const atSignup = await api.request('/v1/signups', {
      json: { email: `jane.doe+third${Date.now()}@gmail.com`, ref: me.id },
    });
    expect(atSignup.body.error.code).toBe('self_referral');
    expect(
      await database.db.oneFirst(
        sql.type(
          z.object({ n: z.number() }),
        )`SELECT count(*)::int AS n FROM edges WHERE referee_id IN (${me.id}, ${alias.id})`,
      ),
    ).toBe(0);
  });
});

describe('referrer cookie', () => {
  const cookieHeader = (setCookies: string[]) => setCookies.map((c) => c.split(';')[0]).join('; ');

  it('is set server-side by /r/{code}, signed, HttpOnly, SameSite=Lax, 90 days, and read at signup after an auth hop', async () => {
    const creator = await signup(api);
    const listing = await api.request('/v1/listings', { json: { title: 'A listing' }, key: creator.token });
    const listingId = listing.body.id as string;
    const link = await api.request(`/r/${creator.referralCode}?listing=${listingId}`, { redirect: 'manual' });
    expect(link.status).toBe(302);
    expect(link.headers.get('location')).toBe('https://refer.example.com/');
    const setCookies = link.headers.getSetCookie();
    const ref = setCookies.find((c) => c.startsWith('ref='))!;
    expect(ref).toMatch(/HttpOnly/);
    expect(ref).toMatch(/SameSite=Lax/);
    expect(ref).toMatch(/Max-Age=7776000/);
    expect(decodeURIComponent(ref)).toMatch(/^ref=s:/); // signed
    // Days later, after logging in elsewhere, the browser comes back with the cookies.
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail('visitor') },
      headers: { cookie: cookieHeader(setCookies) },
    });
    expect(res.status).toBe(201);
    expect(res.body.edge).toMatchObject({ referrerId: creator.id, source: 'listing', code: listingId });
  });

  it('is set by ?ref= on any request, keeps the first referrer, and ignores a forged value', async () => {
    const first = await signup(api);
    const second = await signup(api);
    const one = await api.request(`/healthz?ref=${first.referralCode}`);
    const cookies = one.headers.getSetCookie();
    const two = await api.request(`/healthz?ref=${second.referralCode}`, {
      headers: { cookie: cookieHeader(cookies) },
    });
    expect(two.headers.getSetCookie().filter((c) => c.startsWith('ref='))).toEqual([]);
    const visitor = await api.request('/v1/signups', {
      json: { email: uniqueEmail() },
      headers: { cookie: cookieHeader(cookies) },
    });
    expect(visitor.body.edge.referrerId).toBe(first.id);
    const forged = await api.request('/v1/signups', {
      json: { email: uniqueEmail() },
      headers: { cookie: `ref=${second.referralCode}` },
    });
    expect(forged.body.edge).toBeNull();
  });

  it('lets a signup go on without an edge when the remembered referrer is no longer usable', async () => {
    const owner = await signup(api);
    const unapproved = await partner(api, owner.tenantId, { approved: false });
    const link = await api.request(`/r/${unapproved.referralCode}`, { redirect: 'manual' });
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail() },
      headers: { cookie: cookieHeader(link.headers.getSetCookie()) },
    });
    expect(res.status).toBe(201);
    expect(res.body.edge).toBeNull();
    // Named explicitly, the same code is refused.
    expect(
      (await api.request('/v1/signups', { json: { email: uniqueEmail(), ref: unapproved.referralCode } })).body.error
        .code,
    ).toBe('referrer_not_approved');
  });
});

describe('downline', () => {
  it('lists whom a user brought, paginated, with depth', async () => {
    const root = await signup(api);
    const children = [];
    for (let i = 0; i < 3; i++) children.push(await signup(api, { ref: root.id }));
    const grandchild = await signup(api, { ref: children[0]!.id });
    const direct = await api.request(`/v1/users/${root.id}/downline?limit=2`, { key: root.token });
    expect(direct.status).toBe(200);
    expect(direct.body.data.map((r: any) => r.userId)).toEqual([children[0]!.id, children[1]!.id]);
    const rest = await api.request(`/v1/users/${root.id}/downline?limit=2&cursor=${direct.body.nextCursor}`, {
      key: root.token,
    });
    expect(rest.body).toMatchObject({ data: [{ userId: children[2]!.id, depth: 1 }], nextCursor: null });
    const deep = await api.request(`/v1/users/${root.id}/downline?depth=2`, { key: TEST_KEYS.admin });
    expect(deep.body.data.map((r: any) => [r.userId, r.depth])).toEqual([
      ...children.map((c) => [c.id, 1]),
      [grandchild.id, 2],
    ]);
    expect(deep.body.data[3].referrerId).toBe(children[0]!.id);
    expect((await api.request(`/v1/users/${root.id}/downline?depth=9`, { key: root.token })).status).toBe(400);
    expect(
      (await api.request(`/v1/users/${root.id}/downline?cursor=garbage`, { key: root.token })).body.error.code,
    ).toBe('cursor_invalid');
    expect((await api.request(`/v1/users/${root.id}/downline`, { key: children[0]!.token })).status).toBe(404);
  });
});
