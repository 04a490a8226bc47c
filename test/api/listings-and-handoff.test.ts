// Listings and creators (a listing's share link attributes to its creator, a visitor who saw two
// listings keeps both and is resolved to the first seen), and the cross-domain hand-off (allowed
// domains only, exact match; tokens one-time, short-lived, tamper-evident).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { purposeKey } from '../../api/auth.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import type { Config } from '../../platform/env.ts';
import { handoffLocation } from '../../services/handoff.ts';
import { startTestApi, testConfig, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { partner, signup, uniqueEmail, type SignedUp } from '../support/graph.ts';

let database: TestDatabase;
let api: TestApi;
let config: Config;

beforeAll(async () => {
  database = await createTestDatabase();
  config = testConfig(database.url, {
    PUBLIC_BASE_URL: 'https://refer.example.com',
    HANDOFF_ALLOWED_DOMAINS: 'agency.example.net,shop.example.org',
  });
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

const cookieHeader = (setCookies: string[]) => setCookies.map((c) => c.split(';')[0]).join('; ');
/** A browser's cookie jar: later Set-Cookie headers replace earlier ones of the same name. */
function jar() {
  const cookies = new Map<string, string>();
  return {
    take(setCookies: string[]) {
      for (const c of setCookies) {
        const pair = c.split(';')[0]!;
        cookies.set(pair.slice(0, pair.indexOf('=')), pair);
      }
    },
    get header() {
      return [...cookies.values()].join('; ');
    },
  };
}

async function listing(creator: SignedUp, body: Record<string, unknown> = {}) {
  const res = await api.request('/v1/listings', { json: { title: 'A tiny CRM', ...body }, key: creator.token });
  if (res.status !== 201) throw new Error(`listing failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; shareLink: string; customDomain: string | null; creatorId: string };
}

const count = (query: ReturnType<typeof sql.unsafe>) =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM (${query}) x`);

describe('listings', () => {
  it('a signed-in creator makes a listing; anyone reads its public view with the share link', async () => {
    const creator = await signup(api);
    const created = await listing(creator, { title: '  Invoice bot  ', customDomain: 'Bot.Example.io' });
    expect(created).toMatchObject({ title: 'Invoice bot', customDomain: 'bot.example.io', creatorId: creator.id });
    expect(created.shareLink).toBe(`https://refer.example.com/r/${creator.referralCode}?listing=${created.id}`);
    const view = await api.request(`/v1/listings/${created.id}`);
    expect(view.status).toBe(200);
    expect(Object.keys(view.body).sort()).toEqual(['createdAt', 'customDomain', 'id', 'shareLink', 'title']);
    expect((await api.request(`/v1/listings/${crypto.randomUUID()}`)).status).toBe(404);
  });

  it('refuses bad input and a taken domain, writing nothing; needs a signed-in user', async () => {
    const creator = await signup(api);
    await listing(creator, { customDomain: 'taken.example.io' });
    const before = await count(sql.unsafe`SELECT 1 FROM listings`);
    for (const [body, code] of [
      [{ title: '' }, 'invalid_request'],
      [{ title: 'x'.repeat(201) }, 'invalid_request'],
      [{ title: 'ok', customDomain: 'https://evil.example.com' }, 'invalid_request'],
      [{ title: 'ok', customDomain: '10.0.0.1' }, 'invalid_custom_domain'],
      [{ title: 'ok', customDomain: '-evil.example.com' }, 'invalid_custom_domain'],
      [{ title: '   ' }, 'invalid_request'],
      [{ title: 'ok', customDomain: 'evil.example.com:8443' }, 'invalid_request'],
      [{ title: 'ok', creatorId: creator.id }, 'invalid_request'],
      [{ title: 'ok', customDomain: 'TAKEN.example.io' }, 'custom_domain_taken'],
    ] as const) {
      const res = await api.request('/v1/listings', { json: body, key: creator.token });
      expect([400, 409]).toContain(res.status);
      if (code !== 'invalid_request') expect(res.body.error.code).toBe(code);
    }
    expect((await api.request('/v1/listings', { json: { title: 'anon' } })).status).toBe(401);
    expect(await count(sql.unsafe`SELECT 1 FROM listings`)).toBe(before);
  });

  it("a listing's share link attributes the visitor to its creator, with the listing on the edge and event", async () => {
    const creator = await signup(api);
    const l = await listing(creator);
    const link = await api.request(new URL(l.shareLink).pathname + new URL(l.shareLink).search, { redirect: 'manual' });
    expect(link.status).toBe(302);
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail('visitor') },
      headers: { cookie: cookieHeader(link.headers.getSetCookie()) },
    });
    expect(res.status).toBe(201);
    expect(res.body.edge).toMatchObject({ referrerId: creator.id, source: 'listing', code: l.id });
    const event = await database.db.one(
      sql.type(z.object({ source: z.string(), code: z.string() }))`
        SELECT source, code FROM attribution_events WHERE referee_id = ${res.body.user.id}`,
    );
    expect(event).toEqual({ source: 'listing', code: l.id });
    // Named in the body without a ref: the listing's creator is the referrer.
    const named = await api.request('/v1/signups', { json: { email: uniqueEmail(), listingId: l.id } });
    expect(named.body.edge).toMatchObject({ referrerId: creator.id, source: 'listing', code: l.id });
  });

  it('keeps both listings a visitor saw, and resolves the signup to the first one seen', async () => {
    const creator = await signup(api);
    const first = await listing(creator, { title: 'first' });
    const second = await listing(creator, { title: 'second' });
    const browser = jar();
    for (const l of [first, second, first]) {
      const res = await api.request(`/r/${creator.referralCode}?listing=${l.id}`, {
        redirect: 'manual',
        headers: { cookie: browser.header },
      });
      browser.take(res.headers.getSetCookie());
    }
    const share = decodeURIComponent(browser.header);
    expect(share).toContain(first.id);
    expect(share).toContain(second.id);
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail() },
      headers: { cookie: browser.header },
    });
    expect(res.body.edge).toMatchObject({ referrerId: creator.id, source: 'listing', code: first.id });
  });

  it('the first referrer wins; a listing of another creator in the cookie is not credited to the first', async () => {
    const alice = await signup(api);
    const bob = await signup(api);
    const bobs = await listing(bob);
    const browser = jar();
    for (const path of [`/r/${alice.referralCode}`, `/r/${bob.referralCode}?listing=${bobs.id}`]) {
      browser.take(
        (await api.request(path, { redirect: 'manual', headers: { cookie: browser.header } })).headers.getSetCookie(),
      );
    }
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail() },
      headers: { cookie: browser.header },
    });
    expect(res.body.edge).toMatchObject({ referrerId: alice.id, source: 'link', code: null });
  });

  it("refuses a listing named with another creator's ref, or unknown; a crafted link just drops the listing", async () => {
    const alice = await signup(api);
    const bob = await signup(api);
    const bobs = await listing(bob);
    const users = await count(sql.unsafe`SELECT 1 FROM users`);
    const mismatch = await api.request('/v1/signups', {
      json: { email: uniqueEmail(), ref: alice.referralCode, listingId: bobs.id },
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error.code).toBe('listing_not_of_referrer');
    const unknown = await api.request('/v1/signups', {
      json: { email: uniqueEmail(), listingId: crypto.randomUUID() },
    });
    expect(unknown.body.error.code).toBe('listing_not_found');
    expect(await count(sql.unsafe`SELECT 1 FROM users`)).toBe(users);
    const crafted = await api.request(`/r/${alice.referralCode}?listing=${bobs.id}`, { redirect: 'manual' });
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail() },
      headers: { cookie: cookieHeader(crafted.headers.getSetCookie()) },
    });
    expect(res.body.edge).toMatchObject({ referrerId: alice.id, source: 'link', code: null });
  });
});

describe('cross-domain hand-off', () => {
  const handoffOf = (location: string) => {
    const url = new URL(location);
    expect(url.protocol).toBe('https:');
    return { host: url.host, path: url.pathname, token: url.searchParams.get('rg_handoff')! };
  };

  it('hands the visitor to an allowed domain; that domain’s signup keeps the referrer and listing, once', async () => {
    const creator = await signup(api);
    const l = await listing(creator);
    const link = await api.request(`/r/${creator.referralCode}?listing=${l.id}&to=agency.example.net`, {
      redirect: 'manual',
    });
    expect(link.status).toBe(302);
    const { host, path, token } = handoffOf(link.headers.get('location')!);
    expect([host, path]).toEqual(['agency.example.net', '/']);
    // No cookies on the other domain: the token alone carries the referral.
    const res = await api.request('/v1/signups', { json: { email: uniqueEmail(), handoff: token } });
    expect(res.status).toBe(201);
    expect(res.body.edge).toMatchObject({ referrerId: creator.id, source: 'listing', code: l.id });
    // Replayed: refused, and no user is made.
    const users = await count(sql.unsafe`SELECT 1 FROM users`);
    const replay = await api.request('/v1/signups', { json: { email: uniqueEmail(), handoff: token } });
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('handoff_used');
    expect(await count(sql.unsafe`SELECT 1 FROM users`)).toBe(users);
  });

  it("a listing's custom domain may receive a hand-off", async () => {
    const creator = await signup(api);
    await listing(creator, { customDomain: 'creator-shop.example.io' });
    const link = await api.request(`/r/${creator.referralCode}?to=creator-shop.example.io`, { redirect: 'manual' });
    expect(link.status).toBe(302);
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail(), handoff: handoffOf(link.headers.get('location')!).token },
    });
    expect(res.body.edge).toMatchObject({ referrerId: creator.id, source: 'link' });
  });

  it('refuses a domain not allowed with a 400: no redirect and no cookie', async () => {
    const creator = await signup(api);
    for (const to of [
      'evil.example.com',
      'sub.agency.example.net',
      'agency.example.net.evil.com',
      'agency.example.net:443',
      'https://agency.example.net',
      'agency.example.net/path',
      'evil.com@agency.example.net',
      'agency.example.net@evil.com',
      '//evil.com',
      'agency.example.net%2F@evil.com',
      '127.0.0.1',
      'localhost',
    ]) {
      const res = await api.request(`/r/${creator.referralCode}?to=${encodeURIComponent(to)}`, { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(res.body.error.code).toBe('handoff_domain_not_allowed');
    }
  });

  it('refuses an expired token and a tampered one, writing nothing', async () => {
    const creator = await signup(api);
    const settings = {
      key: purposeKey(config.sessionSecret, 'handoff'),
      allowedDomains: config.handoff.allowedDomains,
    };
    const expired = handoffOf(
      handoffLocation(settings, 'agency.example.net', { ref: creator.referralCode }, new Date(Date.now() - 6 * 60_000)),
    ).token;
    const users = await count(sql.unsafe`SELECT 1 FROM users`);
    const late = await api.request('/v1/signups', { json: { email: uniqueEmail(), handoff: expired } });
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('handoff_expired');

    const link = await api.request(`/r/${creator.referralCode}?to=shop.example.org`, { redirect: 'manual' });
    const token = handoffOf(link.headers.get('location')!).token;
    const [text, mac] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(text, 'base64url').toString());
    const intruder = await signup(api);
    const forged = `${Buffer.from(JSON.stringify({ ...claims, ref: intruder.referralCode })).toString('base64url')}.${mac}`;
    const tampered = await api.request('/v1/signups', { json: { email: uniqueEmail(), handoff: forged } });
    expect(tampered.status).toBe(400);
    expect(tampered.body.error.code).toBe('handoff_invalid');
    // A token signed with another purpose's key (the signed-cookie key) is not a hand-off either.
    const otherKey = { ...settings, key: purposeKey(config.sessionSecret, 'signed-cookie') };
    const wrongKey = handoffOf(handoffLocation(otherKey, 'shop.example.org', { ref: creator.referralCode })).token;
    expect((await api.request('/v1/signups', { json: { email: uniqueEmail(), handoff: wrongKey } })).status).toBe(400);
    expect(await count(sql.unsafe`SELECT 1 FROM users`)).toBe(users + 1); // the intruder only
    // The genuine token still works once.
    const ok = await api.request('/v1/signups', { json: { email: uniqueEmail(), handoff: token } });
    expect(ok.body.edge).toMatchObject({ referrerId: creator.id });
  });

  it('racing signups with one token: exactly one spends it', async () => {
    const creator = await signup(api);
    const link = await api.request(`/r/${creator.referralCode}?to=agency.example.net`, { redirect: 'manual' });
    const token = handoffOf(link.headers.get('location')!).token;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => api.request('/v1/signups', { json: { email: uniqueEmail(), handoff: token } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
  });

  it('a handed-off referrer no longer usable lets the signup go on without an edge', async () => {
    const owner = await signup(api);
    const unapproved = await partner(api, owner.tenantId, { approved: false });
    const link = await api.request(`/r/${unapproved.referralCode}?to=agency.example.net`, { redirect: 'manual' });
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail(), handoff: handoffOf(link.headers.get('location')!).token },
    });
    expect(res.status).toBe(201);
    expect(res.body.edge).toBeNull();
  });
});
