// The share moment and the public counts on the real API and PostgreSQL: the signup answer and
// GET /v1/share/me hand out the link, the card and copy per channel from the facts of the moment;
// GET /og/{code}.png is a real 1200x630 PNG, cached, with an ETag that answers 304 until the facts
// it draws change; GET /v1/stats/public gives exact counts with the moment they were true.
import { randomUUID } from 'node:crypto';
import { inflateSync, crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { createTemporalClient } from '../../platform/temporal.ts';
import { createOgCardRenderer } from '../../services/og-card.ts';
import { createPublicStats } from '../../services/public-stats.ts';
import { ogCardFor } from '../../services/share.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, uniqueEmail, type SignedUp } from '../support/graph.ts';

const BASE = 'https://invite.example.test';

let database: TestDatabase;
let api: TestApi;
/** The same database behind an app whose public routes allow 3 requests a minute per address and group. */
let limited: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url, { PUBLIC_BASE_URL: BASE });
  const temporal = createTemporalClient(config);
  api = await startTestApi({ config, db: database.db, temporal });
  const limitedConfig = testConfig(database.url, { PUBLIC_BASE_URL: BASE, RATE_LIMIT_PER_MINUTE: '3' });
  limited = await startTestApi({ config: limitedConfig, db: database.db, temporal });
});
afterAll(async () => {
  await api?.close();
  await limited?.close();
  await database?.drop();
});

type Png = { width: number; height: number; colorType: number; bitDepth: number; pixels: Buffer };

/**
 * Reads a PNG as a decoder would: the signature, every chunk's CRC, IHDR first and IEND last, and
 * the IDAT stream inflated to exactly one filter byte plus one row of pixels per line.
 */
function readPng(bytes: Buffer): Png {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.subarray(at + 4, at + 8).toString('latin1');
    const data = bytes.subarray(at + 8, at + 8 + length);
    expect(bytes.readUInt32BE(at + 8 + length)).toBe(crc32(bytes.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data });
    at += 12 + length;
  }
  expect(chunks[0]!.type).toBe('IHDR');
  expect(chunks.at(-1)!.type).toBe('IEND');
  const ihdr = chunks[0]!.data;
  const png = {
    width: ihdr.readUInt32BE(0),
    height: ihdr.readUInt32BE(4),
    bitDepth: ihdr[8]!,
    colorType: ihdr[9]!,
    pixels: inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data))),
  };
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[png.colorType as 0 | 2 | 4 | 6];
  expect(channels).toBeDefined();
  expect(png.pixels.length).toBe(png.height * (1 + (png.width * channels! * png.bitDepth) / 8));
  return png;
}

const getCard = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${api.baseUrl}${path}`, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
};

const positionOf = async (user: SignedUp) =>
  (await api.request('/v1/waitlist/me', { key: user.token })).body.position as number;

/** Only characters a URL may carry as they are. */
const URL_SAFE = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;

describe('the share moment', () => {
  it('the signup answer and GET /v1/share/me give the link, the card and copy carrying the link', async () => {
    const user = await signup(api, { email: uniqueEmail('jane') });
    const share = user.body.share;
    const link = `${BASE}/r/${user.referralCode}`;
    const position = await positionOf(user);
    expect(share).toEqual({
      code: user.referralCode,
      link,
      ogImageUrl: `${BASE}/og/${user.referralCode}.png`,
      card: { name: 'j***', headline: `#${position} on the waitlist`, reward: null },
      copy: {
        x: { text: expect.any(String), url: expect.any(String) },
        linkedin: { text: expect.any(String), url: expect.any(String) },
        email: { subject: expect.any(String), body: expect.any(String), url: expect.any(String) },
        whatsapp: { text: expect.any(String), url: expect.any(String) },
        sms: { text: expect.any(String), url: expect.any(String) },
      },
    });
    const { copy } = share;
    expect(copy.x.text).toContain(`#${position} on the waitlist`);
    for (const text of [copy.linkedin.text, copy.email.body, copy.whatsapp.text, copy.sms.text])
      expect(text).toContain(link);
    for (const url of [copy.x.url, copy.linkedin.url, copy.email.url, copy.whatsapp.url, copy.sms.url]) {
      expect(url).toMatch(URL_SAFE);
      expect(url).toContain(encodeURIComponent(link));
    }
    expect(new URL(copy.x.url).searchParams.get('url')).toBe(link);
    expect(new URL(copy.linkedin.url).searchParams.get('url')).toBe(link);
    expect(new URL(copy.email.url).searchParams.get('body')).toBe(copy.email.body);

    const me = await api.request('/v1/share/me', { key: user.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(share);
    expect(me.headers.get('cache-control')).toBe('no-store');
  });

  it('GET /v1/share/me follows the facts: admitted, and a milestone held', async () => {
    const user = await signup(api);
    await database.db.query(sql.unsafe`
      WITH g AS (INSERT INTO milestone_grants (user_id, rung, grant_no, vested_referrals) VALUES (${user.id}, 25, 1, 25))
      UPDATE users SET status = 'active', admitted_at = now() WHERE id = ${user.id}`);
    const me = await api.request('/v1/share/me', { key: user.token });
    expect(me.body.card).toEqual({
      name: 'u***',
      headline: 'In the beta',
      reward: 'Founder (25 referrals): 3 months of Pro, your name on the wall and the founder community',
    });
    expect(me.body.copy.sms.text).toContain("I'm in the beta.");
  });

  it('GET /v1/share/me is for a signed-in user only', async () => {
    expect((await api.request('/v1/share/me')).status).toBe(401);
    expect((await api.request('/v1/share/me', { key: TEST_KEYS.admin })).status).toBe(403);
  });
});

describe('the Open Graph card', () => {
  it('is a real 1200x630 PNG, the same bytes again, and 304 for the ETag until the facts change', async () => {
    const user = await signup(api);
    const first = await getCard(`/og/${user.referralCode}.png`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/png');
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    const png = readPng(first.bytes);
    expect([png.width, png.height]).toEqual([1200, 630]);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"og-[\w-]+"$/);

    const again = await getCard(`/og/${user.referralCode}.png`);
    expect(again.status).toBe(200);
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.bytes.equals(first.bytes)).toBe(true);

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const notModified = await getCard(`/og/${user.referralCode}.png`, { 'if-none-match': ifNoneMatch });
      expect(notModified.status).toBe(304);
      expect(notModified.bytes.length).toBe(0);
      expect(notModified.headers.get('etag')).toBe(etag);
    }
    expect((await getCard(`/og/${user.referralCode}.png`, { 'if-none-match': '"og-other"' })).status).toBe(200);

    // Admitted: the card says so, under another ETag; the old one no longer answers 304.
    await database.db.query(sql.unsafe`UPDATE users SET status = 'active', admitted_at = now() WHERE id = ${user.id}`);
    const changed = await getCard(`/og/${user.referralCode}.png`, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(changed.bytes.equals(first.bytes)).toBe(false);
    expect([readPng(changed.bytes).width, readPng(changed.bytes).height]).toEqual([1200, 630]);
  });

  it('draws each set of facts once: a cache hit is the same bytes, new facts a new card', async () => {
    const user = await signup(api);
    const renderer = createOgCardRenderer({ capacity: 2 });
    const deps = { db: database.db, publicBaseUrl: BASE };
    const a = await ogCardFor(deps, renderer, user.referralCode);
    const [x, y] = await Promise.all([a.png(), (await ogCardFor(deps, renderer, user.referralCode)).png()]);
    expect(renderer.renders).toBe(1);
    expect(x).toBe(y);
    // Someone joins ahead of the user (a wave skip): the position changes, so does the card.
    const ahead = await signup(api);
    await database.db.query(sql.unsafe`UPDATE users SET wave_skip = true WHERE id = ${ahead.id}`);
    const b = await ogCardFor(deps, renderer, user.referralCode);
    expect(b.etag).not.toBe(a.etag);
    const z = await b.png();
    expect(renderer.renders).toBe(2);
    expect(z.equals(x)).toBe(false);
    // Least recently used first out: with room for 2, a third card evicts the oldest.
    const other = await ogCardFor(deps, renderer, ahead.referralCode);
    await other.png();
    await (await ogCardFor(deps, renderer, user.referralCode)).png();
    expect(renderer.renders).toBe(3);
    await database.db.query(sql.unsafe`UPDATE users SET wave_skip = false WHERE id = ${ahead.id}`);
    await (await ogCardFor(deps, renderer, user.referralCode)).png();
    expect(renderer.renders).toBe(4);
  });

  it('answers 404 for an unknown code and 400 for one no code could be, writing nothing', async () => {
    const unknown = await api.request('/og/nosuchcode.png');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'referral_code_not_found' });
    const bad = await api.request('/og/a.b.png');
    expect(bad.status).toBe(400);
    expect((await api.request('/og/nosuchcode')).status).toBe(404);
  });

  it('is rate-limited per address like the other public routes', async () => {
    const user = await signup(api);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await limited.request(`/og/${user.referralCode}.png`)).status);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe('GET /v1/stats/public', () => {
  /** Users written directly with the stamps under test. */
  async function insertUsers(rows: { status: 'waitlisted' | 'active'; activatedAgo?: string; admittedAgo?: string }[]) {
    for (const row of rows) {
      const id = randomUUID();
      await database.db.query(sql.unsafe`
        WITH t AS (INSERT INTO tenants (id, name) VALUES (${id}, 'stats'))
        INSERT INTO users (id, tenant_id, email, inbox, referral_code, status, activated_at, admitted_at)
        VALUES (${id}, ${id}, ${`${id}@example.com`}, ${`${id}@example.com`}, ${`s${id.replaceAll('-', '').slice(0, 12)}`}, ${row.status},
                now() - ${row.activatedAgo ?? null}::interval, now() - ${row.admittedAgo ?? null}::interval)`);
    }
  }

  it('counts exactly what is there, and a cached answer keeps the moment it was true', async () => {
    let clock = 1_000_000;
    const stats = createPublicStats(database.db, { ttlMs: 30_000, now: () => clock });
    const before = await stats.read();
    expect(before.freshForMs).toBe(30_000);
    await insertUsers([
      { status: 'active', activatedAgo: '1 hour', admittedAgo: '2 days' },
      { status: 'active', activatedAgo: '30 days', admittedAgo: '6 days 23 hours' },
      { status: 'active', admittedAgo: '7 days 1 minute' },
      { status: 'active', admittedAgo: '1 minute' },
      { status: 'waitlisted' },
      { status: 'waitlisted' },
      { status: 'waitlisted' },
    ]);

    clock += 29_999;
    const cached = await stats.read();
    expect(cached.stats).toBe(before.stats);
    expect(cached.freshForMs).toBe(1);

    clock += 1;
    const after = await stats.read();
    expect(after.stats.asOf.getTime()).toBeGreaterThan(before.stats.asOf.getTime());
    expect({
      builders: after.stats.buildersShipped - before.stats.buildersShipped,
      admitted: after.stats.admittedThisWeek - before.stats.admittedThisWeek,
      waiting: after.stats.waitlisted - before.stats.waitlisted,
    }).toEqual({ builders: 2, admitted: 3, waiting: 3 });
    expect(after.stats.week.to).toEqual(after.stats.asOf);
    expect(after.stats.asOf.getTime() - after.stats.week.from.getTime()).toBe(7 * 86_400_000);
    // True at asOf: counted again at that moment, from the rows, the figures agree.
    const recount = await database.db.one(sql.unsafe`
      SELECT count(*) FILTER (WHERE activated_at IS NOT NULL)::int AS builders,
             count(*) FILTER (WHERE status = 'waitlisted')::int AS waiting
      FROM users WHERE created_at <= ${after.stats.asOf.toISOString()}::timestamptz`);
    expect(recount).toEqual({ builders: after.stats.buildersShipped, waiting: after.stats.waitlisted });
  });

  it('answers exact integers with asOf, and a repeat within the cache time the same figures', async () => {
    const requestedAt = Date.now();
    const first = await api.request('/v1/stats/public');
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual([
      'admittedThisWeek',
      'asOf',
      'buildersShipped',
      'waitlisted',
      'week',
    ]);
    for (const n of [first.body.buildersShipped, first.body.admittedThisWeek, first.body.waitlisted])
      expect(Number.isInteger(n) && n >= 0).toBe(true);
    expect(first.body.week.to).toBe(first.body.asOf);
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(first.headers.get('cache-control')!)![1]);
    expect(maxAge).toBeLessThanOrEqual(30);

    await insertUsers([{ status: 'active', activatedAgo: '1 second' }]);
    const second = await api.request('/v1/stats/public');
    // Either the cached answer (the same moment, the same figures) or a fresh one that counts the new builder.
    if (second.body.asOf === first.body.asOf) expect(second.body).toEqual(first.body);
    else expect(second.body.buildersShipped).toBe(first.body.buildersShipped + 1);
    // The moment stated is not before the first request was sent (the clocks are the same machine's).
    expect(Date.parse(first.body.asOf)).toBeGreaterThanOrEqual(requestedAt - 1000);
  });
});
