// Rate limits a client cannot talk its way around: X-Forwarded-For counts only from the proxies
// TRUST_PROXY names; the counters live in PostgreSQL, so every API process shares one limit; and
// signed-in callers are limited per user and per API key.
import { afterEach, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, uniqueEmail } from '../support/graph.ts';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

/** A database of its own and `count` API processes on it, with these settings. */
async function apis(settings: Record<string, string>, count = 1): Promise<{ db: TestDatabase; apps: TestApi[] }> {
  const db = await createTestDatabase();
  opened.push({ close: () => db.drop() });
  const config = testConfig(db.url, settings);
  const apps: TestApi[] = [];
  for (let i = 0; i < count; i++) {
    const app = await startTestApi({ config, db: db.db, temporal: createTemporalClient(config) });
    opened.push(app);
    apps.push(app);
  }
  return { db, apps };
}

const validate = (api: TestApi, headers: Record<string, string> = {}) =>
  api.request('/v1/referrals/validate', { json: { code: 'nobody' }, headers }).then((r) => r.status);

describe('client addresses', () => {
  it('ignores X-Forwarded-For when TRUST_PROXY is off (the default): a client cannot spoof its way past', async () => {
    const { apps } = await apis({ RATE_LIMIT_PER_MINUTE: '3' });
    const statuses = [];
    for (let i = 1; i <= 5; i++) statuses.push(await validate(apps[0]!, { 'x-forwarded-for': `203.0.113.${i}` }));
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('with TRUST_PROXY=1, gives each forwarded client its own bucket', async () => {
    const { apps } = await apis({ RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '1' });
    const api = apps[0]!;
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await validate(api, { 'x-forwarded-for': '198.51.100.7' }));
    expect(first).toEqual([200, 200, 200, 429]);
    // Another client behind the same proxy; and a spoofed left-most entry does not change the
    // address the one trusted hop reports.
    expect(await validate(api, { 'x-forwarded-for': '198.51.100.8' })).toBe(200);
    expect(await validate(api, { 'x-forwarded-for': '10.9.9.9, 198.51.100.7' })).toBe(429);
  });

  it('with TRUST_PROXY naming other proxies, does not trust the loopback peer', async () => {
    const { apps } = await apis({ RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '10.0.0.0/8' });
    const statuses = [];
    for (let i = 1; i <= 3; i++) statuses.push(await validate(apps[0]!, { 'x-forwarded-for': `203.0.113.${i}` }));
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe('shared counters', () => {
  it('two API processes on one database share one limit', async () => {
    const { apps } = await apis({ RATE_LIMIT_PER_MINUTE: '4' }, 2);
    const [a, b] = apps as [TestApi, TestApi];
    const statuses = [await validate(a), await validate(b), await validate(a), await validate(b)];
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect([await validate(a), await validate(b)]).toEqual([429, 429]);
  });

  it('refuses a signup past the limit with Retry-After, and writes nothing', async () => {
    const { db, apps } = await apis({ RATE_LIMIT_PER_MINUTE: '2' }, 2);
    await signup(apps[0]!);
    await signup(apps[1]!);
    const email = uniqueEmail();
    const refused = await apps[0]!.request('/v1/signups', { json: { email } });
    expect([refused.status, refused.body.error.type]).toEqual([429, 'rate_limit_error']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const users = await db.db.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM users WHERE email = ${email}`,
    );
    expect(users).toBe(0);
  });
});

describe('signed-in callers', () => {
  it('limits each user, across API processes, without touching other users', async () => {
    const { apps } = await apis({ RATE_LIMIT_USER_PER_MINUTE: '3' }, 2);
    const [a, b] = apps as [TestApi, TestApi];
    const alice = await signup(a);
    const bob = await signup(a);
    const me = (api: TestApi, token: string) => api.request('/v1/waitlist/me', { key: token }).then((r) => r.status);
    expect([await me(a, alice.token), await me(b, alice.token), await me(a, alice.token)]).toEqual([200, 200, 200]);
    const refused = await a.request('/v1/waitlist/me', { key: alice.token });
    expect([refused.status, refused.body.error.message]).toEqual([429, expect.stringMatching(/this user/)]);
    expect(await me(b, bob.token)).toBe(200);
  });

  it('limits each API key', async () => {
    const { apps } = await apis({ RATE_LIMIT_KEY_PER_MINUTE: '2' });
    const api = apps[0]!;
    const admin = () => api.request('/v1/admin/waitlist', { key: TEST_KEYS.admin }).then((r) => r.status);
    expect([await admin(), await admin(), await admin()]).toEqual([200, 200, 429]);
    expect((await api.request('/v1/payments/ch_none', { key: TEST_KEYS.server })).status).toBe(404);
  });
});
