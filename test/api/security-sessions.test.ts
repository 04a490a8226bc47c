// Sessions: one key per purpose (a referrer-cookie signature is never a session signature), tokens
// expire, sign out and rotate, carry the user's own tenant, are handed out once (never kept in the
// idempotency store), and a cookie-authenticated write must come from the app's own origin (CSRF).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac, randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { createAuthenticator, purposeKey } from '../../api/auth.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { PARTNER_A, startTestApi, testConfig, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { partner, signup, uniqueEmail, userInTenant } from '../support/graph.ts';

const APP_ORIGIN = 'https://refer.example.com';
const OTHER_APP_ORIGIN = 'https://agency.example.net';

let database: TestDatabase;
let api: TestApi;
let sessionSecret: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url, { PUBLIC_BASE_URL: APP_ORIGIN, ALLOWED_ORIGINS: OTHER_APP_ORIGIN });
  sessionSecret = config.sessionSecret;
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
  await userInTenant(database.db, PARTNER_A);
  await partner(api, PARTNER_A);
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const me = (token: string) => api.request('/v1/waitlist/me', { key: token }).then((r) => r.status);

describe('keys per purpose', () => {
  it('a signature the referral link hands out cannot be turned into an accepted session token', async () => {
    const user = await signup(api);
    // The most a 64-character referral code can hold of a token: a header and short claims.
    const input = `${b64url({ alg: 'HS256' })}.${b64url({ exp: 9_999_999_999 })}`;
    expect(input.length).toBeLessThanOrEqual(64);
    const link = await api.request(`/r/${input}`, { redirect: 'manual' });
    const cookie = decodeURIComponent(
      link.headers
        .getSetCookie()
        .find((c) => c.startsWith('ref='))!
        .split(';')[0]!,
    );
    const [, signed, signature] = /^ref=s:(.+)\.([^.]+)$/.exec(cookie)!;
    expect(signed).toBe(input);
    const forged = `${input}.${signature!.replace(/\+/g, '-').replace(/\//g, '_')}`;

    expect(await me(forged)).toBe(401);
    const cookieCall = await api.request('/v1/waitlist/me', { headers: { cookie: `session=${forged}` } });
    expect(cookieCall.status).toBe(401);
    // Refused for its signature, not merely for its claims: the cookie key is not the session key.
    const auth = createAuthenticator([], sessionSecret);
    const refusal = await auth.verifyToken(forged).catch((err: Error) => err);
    expect((refusal as Error & { cause?: { code?: string } }).cause?.code).toBe(
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    );
    // A real token still verifies, and neither purpose key is the raw secret.
    expect((await auth.verifyToken(user.token)).userId).toBe(user.id);
    expect(purposeKey(sessionSecret, 'session-token').equals(purposeKey(sessionSecret, 'signed-cookie'))).toBe(false);
    expect(purposeKey(sessionSecret, 'session-token').equals(Buffer.from(sessionSecret))).toBe(false);
  });
});

describe('tokens', () => {
  const signWith = (claims: Record<string, unknown>) => {
    const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
    const mac = createHmac('sha256', purposeKey(sessionSecret, 'session-token')).update(input).digest('base64url');
    return `${input}.${mac}`;
  };

  it('are refused without an expiry (or a token id)', async () => {
    const user = await signup(api);
    const now = Math.floor(Date.now() / 1000);
    const base = { iss: 'referral-graph', sub: user.id, tid: user.tenantId, iat: now };
    expect(await me(signWith({ ...base, jti: randomUUID(), exp: now + 3600 }))).toBe(200); // the control
    expect(await me(signWith({ ...base, jti: randomUUID() }))).toBe(401);
    expect(await me(signWith({ ...base, exp: now + 3600 }))).toBe(401);
    expect(await me(signWith({ ...base, jti: randomUUID(), exp: now - 10 }))).toBe(401);
  });

  it("are refused when their tenant is not the user's", async () => {
    const user = await signup(api);
    // Signed with the app's key, claiming partner A's tenant for a user of another tenant.
    const { token } = await createAuthenticator([], sessionSecret).issueSession({
      userId: user.id,
      tenantId: PARTNER_A,
    });
    expect((await api.request(`/v1/partners/${PARTNER_A}`, { key: token })).status).toBe(401);
    expect((await api.request(`/v1/partners/${user.tenantId}`, { key: user.token })).status).toBe(404); // not a partner
  });

  it('are refused for a user that does not exist', async () => {
    const { token } = await createAuthenticator([], sessionSecret).issueSession({
      userId: randomUUID(),
      tenantId: randomUUID(),
    });
    expect(await me(token)).toBe(401);
  });
});

describe('sign-out and rotation', () => {
  it('sign-out revokes the presented token only', async () => {
    const user = await signup(api);
    const rotated = await api.request('/v1/sessions/refresh', { method: 'POST', key: user.token });
    expect(rotated.status).toBe(201);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const second: string = rotated.body.session.token;
    expect(await me(user.token)).toBe(401); // rotation revoked the first
    expect(await me(second)).toBe(200);

    const third = (await api.request('/v1/sessions/refresh', { method: 'POST', key: second })).body.session.token;
    const out = await api.request('/v1/sessions/sign-out', { method: 'POST', key: third });
    expect(out.status).toBe(204);
    expect(await me(third)).toBe(401);
    expect((await api.request('/v1/sessions/sign-out', { method: 'POST', key: third })).status).toBe(401);
    const revoked = await database.db.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM revoked_sessions WHERE user_id = ${user.id}`,
    );
    expect(revoked).toBe(3);
  });

  it('sign-out by cookie clears the cookie, and the cookie stops working', async () => {
    const user = await signup(api);
    const out = await api.request('/v1/sessions/sign-out', {
      method: 'POST',
      headers: { cookie: `session=${user.token}`, origin: APP_ORIGIN },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()).toEqual([expect.stringMatching(/^session=;.*Expires=Thu, 01 Jan 1970/)]);
    expect((await api.request('/v1/waitlist/me', { headers: { cookie: `session=${user.token}` } })).status).toBe(401);
  });

  it('a stale session cookie does not lock a browser out of the public routes', async () => {
    const user = await signup(api);
    await api.request('/v1/sessions/sign-out', { method: 'POST', key: user.token });
    const res = await api.request('/v1/signups', {
      json: { email: uniqueEmail() },
      headers: { cookie: `session=${user.token}` },
    });
    expect(res.status).toBe(201);
  });
});

describe('signup replies', () => {
  it('keep no token in the idempotency store, and a replay hands out none', async () => {
    const key = `signup-${randomUUID()}`;
    const email = uniqueEmail();
    const first = await api.request('/v1/signups', { json: { email }, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    const token: string = first.body.session.token;
    expect(first.headers.get('cache-control')).toBe('no-store');

    const stored = await database.db.oneFirst(
      sql.type(
        z.object({ response: z.string() }),
      )`SELECT response::text AS response FROM idempotency_keys WHERE key = ${key}`,
    );
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.split('.')[2]!);
    expect(JSON.parse(stored).user.id).toBe(first.body.user.id);

    const replay = await api.request('/v1/signups', { json: { email }, headers: { 'idempotency-key': key } });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual({ ...first.body, session: null });
    expect(replay.headers.getSetCookie()).toEqual([]);
  });
});

describe('cookie-authenticated writes (CSRF)', () => {
  /** A fresh user tracks a referral with their session cookie and these headers. */
  const cookieWrite = async (extra: Record<string, string>) => {
    const user = await signup(api);
    const referrer = await signup(api);
    const res = await api.request('/v1/referrals/track', {
      json: { ref: referrer.referralCode },
      headers: { cookie: `session=${user.token}`, ...extra },
    });
    const edges = await database.db.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM edges WHERE referee_id = ${user.id}`,
    );
    return { status: res.status, code: res.body?.error?.code, edges };
  };

  it('are refused without an Origin or Referer, or from another origin, and change nothing', async () => {
    const cases: Record<string, string>[] = [
      {},
      { origin: 'https://evil.example.org' },
      { origin: 'null' },
      { referer: 'https://evil.example.org/refer.example.com' },
      { origin: 'https://refer.example.com.evil.example.org' },
    ];
    for (const extra of cases) {
      expect(await cookieWrite(extra)).toEqual({ status: 403, code: 'origin_not_allowed', edges: 0 });
    }
  });

  it('are taken from the public origin, an allowed origin, or with a same-origin Referer', async () => {
    const cases: Record<string, string>[] = [
      { origin: APP_ORIGIN },
      { origin: OTHER_APP_ORIGIN },
      { referer: `${APP_ORIGIN}/welcome?x=1` },
    ];
    for (const extra of cases) {
      expect(await cookieWrite(extra)).toEqual({ status: 201, code: undefined, edges: 1 });
    }
  });

  it('do not concern bearer tokens or reads', async () => {
    const user = await signup(api);
    const referrer = await signup(api);
    const bearer = await api.request('/v1/referrals/track', { json: { ref: referrer.referralCode }, key: user.token });
    expect(bearer.status).toBe(201);
    const read = await api.request('/v1/waitlist/me', { headers: { cookie: `session=${user.token}` } });
    expect(read.status).toBe(200);
  });
});
