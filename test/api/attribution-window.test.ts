// Hole 5 of issue 14 on the real app and PostgreSQL: POST /v1/referrals/track let any unattributed
// user pick a referrer at any time after signup. Now only within TRACK_WINDOW_MINUTES of signup;
// later it is a 409 `attribution_window_closed` that writes nothing but the recorded attempt, and
// attribution is an admin's (POST /v1/admin/attributions), written by the same edge writer and
// recorded with who decided it and why.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, type SignedUp } from '../support/graph.ts';

let database: TestDatabase;
let api: TestApi;
let shortWindow: TestApi; // the same database with TRACK_WINDOW_MINUTES=5

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url);
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
  const short = testConfig(database.url, { TRACK_WINDOW_MINUTES: '5' });
  shortWindow = await startTestApi({ config: short, db: database.db, temporal: createTemporalClient(short) });
});
afterAll(async () => {
  await api?.close();
  await shortWindow?.close();
  await database?.drop();
});

const track = (user: SignedUp, ref: string, via = api) =>
  via.request('/v1/referrals/track', { json: { ref }, key: user.token });
const attribute = (body: Record<string, unknown>, key = TEST_KEYS.admin, headers: Record<string, string> = {}) =>
  api.request('/v1/admin/attributions', { json: body, key, headers });
/** The user signed up this many minutes ago. */
const signedUpAgo = (user: SignedUp, minutes: number) =>
  database.db.query(
    sql.unsafe`UPDATE users SET created_at = now() - make_interval(mins => ${minutes}) WHERE id = ${user.id}`,
  );
const events = (refereeId: string) =>
  database.db.any(
    sql.type(
      z.object({
        outcome: z.string(),
        referrer_id: z.uuid().nullable(),
        edge_id: z.uuid().nullable(),
        decided_by: z.string().nullable(),
        reason: z.string().nullable(),
      }),
    )`SELECT outcome, referrer_id, edge_id, decided_by, reason FROM attribution_events WHERE referee_id = ${refereeId} ORDER BY id`,
  );
const edgesOf = (refereeId: string) =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT ((SELECT count(*) FROM edges WHERE referee_id = ${refereeId}) +
            (SELECT count(*) FROM workflow_outbox o JOIN edges e ON o.subject_id = e.id::text WHERE e.referee_id = ${refereeId}))::int AS n`);

describe('hole 5: a referrer is named at signup; later, by an admin', () => {
  it('tracks within the window; after it answers 409 attribution_window_closed and writes only the attempt', async () => {
    const referrer = await signup(api);
    const early = await signup(api);
    await signedUpAgo(early, 59);
    expect((await track(early, referrer.referralCode)).status).toBe(201);

    const late = await signup(api);
    await signedUpAgo(late, 61);
    const res = await track(late, referrer.referralCode);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'attribution_window_closed', param: 'ref' });
    expect(res.body.error.message).toMatch(/60 minutes/);
    expect(await edgesOf(late.id)).toBe(0);
    expect(await events(late.id)).toEqual([
      { outcome: 'window_closed', referrer_id: referrer.id, edge_id: null, decided_by: null, reason: null },
    ]);

    // TRACK_WINDOW_MINUTES decides the window.
    const fiveMinutes = await signup(api);
    await signedUpAgo(fiveMinutes, 6);
    expect((await track(fiveMinutes, referrer.referralCode, shortWindow)).status).toBe(409);
    expect((await track(fiveMinutes, referrer.referralCode)).status).toBe(201);
  });

  it('a user attributed at signup is still answered their edge after the window (first touch wins)', async () => {
    const first = await signup(api);
    const other = await signup(api);
    const referee = await signup(api, { ref: first.referralCode });
    await signedUpAgo(referee, 24 * 60);
    const res = await track(referee, other.referralCode);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'already_attributed', edge: { referrerId: first.id } });
  });

  it('an admin attributes later through the same edge writer, recording who and why; once', async () => {
    const referrer = await signup(api);
    const late = await signup(api);
    await signedUpAgo(late, 3 * 24 * 60);
    expect((await track(late, referrer.referralCode)).status).toBe(409);

    const body = { refereeId: late.id, ref: referrer.referralCode, reason: 'support ticket 4711: invited at a meetup' };
    const res = await attribute(body, TEST_KEYS.admin, { 'Idempotency-Key': `attr-${late.id}` });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      outcome: 'edge_written',
      edge: { referrerId: referrer.id, refereeId: late.id, source: 'link', kind: 'beta_auto' },
      decidedBy: expect.stringMatching(/^admin-key:/),
      reason: body.reason,
    });
    // The edge and its workflow's start, as any other edge is written.
    expect(await edgesOf(late.id)).toBe(2);
    const replay = await attribute(body, TEST_KEYS.admin, { 'Idempotency-Key': `attr-${late.id}` });
    expect([replay.status, replay.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    // Without the key, a second decision keeps the first edge and is recorded too.
    const again = await attribute({ ...body, ref: (await signup(api)).referralCode, reason: 'duplicate ticket' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ outcome: 'already_attributed', edge: { referrerId: referrer.id } });
    const recorded = await events(late.id);
    expect(recorded.map((e) => [e.outcome, e.reason])).toEqual([
      ['window_closed', null],
      ['edge_written', body.reason],
      ['already_attributed', 'duplicate ticket'],
    ]);
    expect(recorded[1]!.decided_by).toBe(res.body.decidedBy);
  });

  it('admin attribution: admin key only, and bad input gets a clear 4xx that changes nothing', async () => {
    const referrer = await signup(api);
    const user = await signup(api);
    const body = { refereeId: user.id, ref: referrer.referralCode, reason: 'why' };
    expect((await api.request('/v1/admin/attributions', { json: body })).status).toBe(401);
    for (const key of [TEST_KEYS.server, TEST_KEYS.finance, user.token])
      expect((await attribute(body, key)).status).toBe(403);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...body, reason: undefined }, 400, 'parameter_missing'],
      [{ ...body, reason: '' }, 400, 'parameter_invalid'],
      [{ ...body, extra: 1 }, 400, 'parameter_unknown'],
      [{ ...body, refereeId: '00000000-0000-4000-8000-000000000999' }, 404, 'user_not_found'],
      [{ ...body, ref: 'nobody-at-all' }, 400, 'referrer_not_found'],
      [{ ...body, ref: user.referralCode }, 400, 'self_referral'],
    ];
    for (const [json, status, code] of cases) {
      const res = await attribute(json);
      expect([res.status, res.body.error.code]).toEqual([status, code]);
    }
    expect(await edgesOf(user.id)).toBe(0);
  });
});
