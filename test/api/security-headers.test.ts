// Headers and privacy: nosniff, no framing, no caching of API answers (they carry tokens), HSTS and
// Secure cookies when the public URL is https (and only then); the downline masks the emails of
// referees the user did not bring themself.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, uniqueEmail } from '../support/graph.ts';

let database: TestDatabase;
let https: TestApi;
let http: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  const secure = testConfig(database.url, { PUBLIC_BASE_URL: 'https://refer.example.com' });
  https = await startTestApi({ config: secure, db: database.db, temporal: createTemporalClient(secure) });
  const plain = testConfig(database.url, { PUBLIC_BASE_URL: 'http://localhost:3000' });
  http = await startTestApi({ config: plain, db: database.db, temporal: createTemporalClient(plain) });
});
afterAll(async () => {
  await https?.close();
  await http?.close();
  await database?.drop();
});

describe('security headers', () => {
  it('are on every answer: success, error, redirect, documentation', async () => {
    const answers = [
      await https.request('/healthz'),
      await https.request('/v1/nothing-here'),
      await https.request('/v1/signups', { json: {} }),
      await https.request('/r/abc', { redirect: 'manual' }),
      await https.request('/openapi.json'),
      await https.request('/docs'),
    ];
    for (const res of answers) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d{8,}/);
    }
  });

  it('answers carrying a token are never cached', async () => {
    const res = await https.request('/v1/signups', { json: { email: uniqueEmail() } });
    expect(res.status).toBe(201);
    expect(res.body.session.token).toEqual(expect.any(String));
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await https.request('/v1/waitlist/me', { key: res.body.session.token })).headers.get('cache-control')).toBe(
      'no-store',
    );
  });

  it('HSTS only when the public URL is https', async () => {
    expect((await http.request('/healthz')).headers.get('strict-transport-security')).toBeNull();
    expect((await http.request('/healthz')).headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('cookies', () => {
  const setCookies = async (api: TestApi) => {
    const link = await api.request('/r/somebody?listing=l1', { redirect: 'manual' });
    const joined = await api.request('/v1/signups', { json: { email: uniqueEmail() } });
    return [...link.headers.getSetCookie(), ...joined.headers.getSetCookie()];
  };

  it('are Secure when the public URL is https, even behind a proxy the app does not trust', async () => {
    const cookies = await setCookies(https);
    expect(cookies.map((c) => c.split('=')[0])).toEqual(['ref', 'share_listing', 'session']);
    for (const cookie of cookies) expect(cookie).toMatch(/; Secure/);
  });

  it('are not Secure on a plain http public URL (local development)', async () => {
    for (const cookie of await setCookies(http)) expect(cookie).not.toMatch(/; Secure/);
  });
});

describe('downline', () => {
  it('masks the emails of indirect referees for the user, and shows them to admin', async () => {
    const root = await signup(https);
    const child = await signup(https, { ref: root.id, email: uniqueEmail('child') });
    const grandchild = await signup(https, { ref: child.id, email: `jane.doe-${Date.now()}@gmail.com` });
    const mine = await https.request(`/v1/users/${root.id}/downline?depth=2`, { key: root.token });
    expect(mine.status).toBe(200);
    const byId = Object.fromEntries(mine.body.data.map((r: any) => [r.userId, r]));
    expect(byId[child.id].email).toBe(child.email); // whom they brought themself
    expect(byId[grandchild.id].email).toBe('j***@g***.com');
    expect(JSON.stringify(mine.body)).not.toContain(grandchild.email);

    const admin = await https.request(`/v1/users/${root.id}/downline?depth=2`, { key: TEST_KEYS.admin });
    expect(admin.body.data.find((r: any) => r.userId === grandchild.id).email).toBe(grandchild.email);
  });
});
