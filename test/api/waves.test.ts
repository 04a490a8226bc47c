// Waves on the real stack: scheduling, admitting the top of the list (each admitted user active,
// told by mail), idempotent and capped also when called at once, the wave-release workflow started
// by its Temporal Schedule, the planner that keeps waits under target, and the forecast.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { ensureWaveSchedule, waveScheduleId } from '../../workers/wave-schedule.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, type SignedUp } from '../support/graph.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
let api: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = await startDevWorker(database.db, 'waves', { wavePlan: { targetWaitDays: 30, cadenceDays: 7, leadDays: 2 } });
  api = await startTestApi({ config: testConfig(database.url, { TEMPORAL_TASK_QUEUE: worker.taskQueue }), db: database.db, temporal: worker.client });
});
afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await database?.drop();
});
// Each test starts from an empty list: everyone earlier is let in, every wave released.
beforeEach(async () => {
  await database.db.query(sql.unsafe`UPDATE users SET status = 'active' WHERE status = 'waitlisted'`);
  await database.db.query(sql.unsafe`UPDATE waves SET status = 'released' WHERE status = 'scheduled'`);
});

const admin = (path: string, init: { json?: unknown; method?: string } = {}) => api.request(path, { ...init, key: TEST_KEYS.admin });
const soon = () => new Date(Date.now() + 3_600_000).toISOString();
const statusOf = (id: string) => database.db.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM users WHERE id = ${id}`);

/** Waiting users with chosen scores (skip: earned the wave skip), written as the vesting activity would leave them. */
async function waiting(n: number, standing: (i: number) => { score?: number; skip?: boolean } = () => ({})): Promise<SignedUp[]> {
  const users: SignedUp[] = [];
  for (let i = 0; i < n; i++) {
    const u = await signup(api);
    const { score = 0, skip = false } = standing(i);
    await database.db.query(sql.unsafe`UPDATE users SET waitlist_score = ${score}, wave_skip = ${skip} WHERE id = ${u.id}`);
    users.push(u);
  }
  return users;
}

describe('waves', () => {
  it('admits the top of the list up to the cap, skips first, each one active and mailed; a second admit changes nothing', async () => {
    const users = await waiting(6, (i) => (i === 5 ? { skip: true } : i === 3 ? { score: 20 } : {}));
    const created = await admin('/v1/admin/waves', { json: { name: 'Wave 3', seatCap: 3, opensAt: soon() } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Wave 3', seatCap: 3, admittedCount: 0, seatsLeft: 3, status: 'scheduled', planned: false, createdBy: expect.stringMatching(/^admin-key:/) });

    // A waiting user sees the real seats of the wave to come.
    const view = await api.request('/v1/waitlist/me', { key: users[0]!.token });
    expect(view.body.messages).toContainEqual({ kind: 'next_wave_seats', text: `Wave 3 opens ${new Date(created.body.opensAt).toISOString()} with 3 seats left.` });
    expect(view.body.nextWave).toMatchObject({ id: created.body.id, seatsLeft: 3 });

    const res = await admin(`/v1/admin/waves/${created.body.id}/admit`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ admittedNow: 3, admittedCount: 3, seatsLeft: 0, status: 'released' });
    // Order: the wave skip, then the higher score, then who signed up first.
    const expected = [users[5]!, users[3]!, users[0]!];
    const wave = await admin(`/v1/admin/waves/${created.body.id}`);
    expect(wave.body.admitted.map((a: any) => [a.userId, a.position, a.status])).toEqual(expected.map((u, i) => [u.id, i + 1, 'active']));
    for (const u of expected) {
      expect(await statusOf(u.id)).toBe('active');
      const me = await api.request('/v1/waitlist/me', { key: u.token });
      expect(me.body).toMatchObject({ status: 'active', position: null, admitted: { waveId: created.body.id, waveName: 'Wave 3' } });
    }
    for (const u of [users[1]!, users[2]!, users[4]!]) expect(await statusOf(u.id)).toBe('waitlisted');
    const mails = await database.db.anyFirst(sql.type(z.object({ to_address: z.string() }))`SELECT to_address FROM mail_outbox WHERE dedupe_key LIKE 'wave-admitted:%' ORDER BY to_address`);
    expect(mails).toEqual(expected.map((u) => u.email).sort());

    const again = await admin(`/v1/admin/waves/${created.body.id}/admit`, { method: 'POST' });
    expect(again.body).toMatchObject({ admittedNow: 0, admittedCount: 3 });
    expect(await statusOf(users[1]!.id)).toBe('waitlisted');
    // No wave to come: no seats message.
    expect((await api.request('/v1/waitlist/me', { key: users[1]!.token })).body.messages.map((m: any) => m.kind)).not.toContain('next_wave_seats');
  });

  it('never exceeds the cap when admitted many times at once, and two waves at once never take the same user', async () => {
    await waiting(12);
    const a = (await admin('/v1/admin/waves', { json: { seatCap: 5, opensAt: soon() } })).body;
    const b = (await admin('/v1/admin/waves', { json: { seatCap: 4, opensAt: soon() } })).body;
    const calls = await Promise.all([...Array.from({ length: 5 }, () => admin(`/v1/admin/waves/${a.id}/admit`, { method: 'POST' })), ...Array.from({ length: 5 }, () => admin(`/v1/admin/waves/${b.id}/admit`, { method: 'POST' }))]);
    expect(calls.every((c) => c.status === 200)).toBe(true);
    expect(calls.slice(0, 5).reduce((sum, c) => sum + c.body.admittedNow, 0)).toBe(5);
    expect(calls.slice(5).reduce((sum, c) => sum + c.body.admittedNow, 0)).toBe(4);
    const counts = await database.db.one(sql.type(z.object({ a: z.number(), b: z.number(), distinct_users: z.number(), waiting: z.number() }))`
      SELECT count(*) FILTER (WHERE wave_id = ${a.id})::int AS a, count(*) FILTER (WHERE wave_id = ${b.id})::int AS b,
             count(DISTINCT user_id)::int AS distinct_users, (SELECT count(*)::int FROM users WHERE status = 'waitlisted') AS waiting
      FROM wave_admissions WHERE wave_id IN (${a.id}, ${b.id})`);
    expect(counts).toEqual({ a: 5, b: 4, distinct_users: 9, waiting: 3 });
  });

  it('refuses bad input and unknown waves, changing nothing', async () => {
    const before = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM waves`);
    for (const json of [{ seatCap: 0, opensAt: soon() }, { seatCap: 5 }, { seatCap: 5, opensAt: 'Friday' }, { seatCap: 5, opensAt: soon(), admitted: 3 }, { seatCap: 1.5, opensAt: soon() }]) {
      const res = await admin('/v1/admin/waves', { json });
      expect(res.status).toBe(400);
      expect(res.body.error.type).toBe('invalid_request_error');
    }
    expect(await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM waves`)).toBe(before);
    const missing = randomUUID();
    expect((await admin(`/v1/admin/waves/${missing}/admit`, { method: 'POST' })).body.error.code).toBe('wave_not_found');
    expect((await admin(`/v1/admin/waves/${missing}`)).status).toBe(404);
    expect((await admin('/v1/admin/waves/not-a-uuid')).status).toBe(400);
  });

  it('pages who a wave admitted', async () => {
    await waiting(5);
    const w = (await admin('/v1/admin/waves', { json: { seatCap: 5, opensAt: soon() } })).body;
    await admin(`/v1/admin/waves/${w.id}/admit`, { method: 'POST' });
    const first = await admin(`/v1/admin/waves/${w.id}?limit=2`);
    const second = await admin(`/v1/admin/waves/${w.id}?limit=2&cursor=${first.body.nextCursor}`);
    const third = await admin(`/v1/admin/waves/${w.id}?limit=2&cursor=${second.body.nextCursor}`);
    expect([...first.body.admitted, ...second.body.admitted, ...third.body.admitted].map((a: any) => a.position)).toEqual([1, 2, 3, 4, 5]);
    expect(third.body.nextCursor).toBeNull();
  });
});

describe('the wave-release workflow on its schedule', () => {
  it('admits a wave whose time has come and plans the next so the longest wait stays under target', async () => {
    const users = await waiting(4);
    const due = (await admin('/v1/admin/waves', { json: { name: 'Due now', seatCap: 2, opensAt: new Date(Date.now() - 1_000).toISOString() } })).body;
    const later = (await admin('/v1/admin/waves', { json: { name: 'Later', seatCap: 2, opensAt: new Date(Date.now() + 7 * 86_400_000).toISOString() } })).body;
    // The last two have waited 27 days: the planner must open a wave for them within a day.
    await database.db.query(sql.unsafe`UPDATE users SET created_at = now() - interval '27 days' WHERE id IN (${users[2]!.id}, ${users[3]!.id})`);

    const prefix = `t${Date.now()}-`;
    expect(await ensureWaveSchedule(worker.client, worker.taskQueue, 60, prefix)).toBe(true);
    expect(await ensureWaveSchedule(worker.client, worker.taskQueue, 60, prefix)).toBe(false);
    const schedule = worker.client.schedule.getHandle(waveScheduleId(prefix));
    try {
      const described = await schedule.describe();
      expect(described.spec.intervals?.[0]?.every).toBe(3_600_000);
      await schedule.trigger();
      const run = await eventually(async () => (await schedule.describe()).info.recentActions[0]?.action.workflow);
      const result = await worker.client.workflow.getHandle(run.workflowId, run.firstExecutionRunId).result();
      expect(result.released).toEqual([expect.objectContaining({ waveId: due.id, admittedNow: 2, admittedCount: 2, seatCap: 2 })]);
      // The two who waited 27 days are now first in line (everyone else admitted ... they signed up "earlier").
      expect(await statusOf(users[2]!.id)).toBe('active');
      expect(await statusOf(users[3]!.id)).toBe('active');
      expect(result.plan).toEqual({ planned: false, reason: 'not_due_yet' });
    } finally {
      await schedule.delete();
    }
    // Still scheduled: the later wave.
    expect((await admin(`/v1/admin/waves/${later.id}`)).body.status).toBe('scheduled');

    // Now one who waited 29 days behind a high scorer: the planned wave opens now and covers down to them.
    await database.db.query(sql.unsafe`UPDATE users SET created_at = now() - interval '29 days' WHERE id = ${users[1]!.id}`);
    await database.db.query(sql.unsafe`UPDATE users SET waitlist_score = 50 WHERE id = ${users[0]!.id}`);
    const view = await admin('/v1/admin/waitlist');
    expect(view.body).toMatchObject({ waiting: 2, targetWaitDays: 30, longestWaitDays: 29 });
    const handle = await worker.client.workflow.start('waveRelease', { workflowId: `wave-release-test-${Date.now()}`, taskQueue: worker.taskQueue, args: [] });
    const result = await handle.result();
    // Position 2 must be covered; the "Later" wave (2 seats) opens after the planned one, so 2 seats.
    expect(result.plan).toMatchObject({ planned: true, seatCap: 2 });
    const planned = (await admin('/v1/admin/waitlist')).body.scheduledWaves.find((w: any) => w.planned);
    expect(planned).toMatchObject({ seatCap: 2, status: 'scheduled', createdBy: 'wave-planner' });
    expect(Math.abs(new Date(planned.opensAt).getTime() - Date.now())).toBeLessThan(60_000);
    // The next tick admits the planned wave (it is due): both who waited are in, and no second wave was planned.
    const next = await worker.client.workflow.execute('waveRelease', { workflowId: `wave-release-test2-${Date.now()}`, taskQueue: worker.taskQueue, args: [] });
    expect(next.released).toEqual([expect.objectContaining({ waveId: planned.id, admittedNow: 2 })]);
    expect(next.plan).toEqual({ planned: false, reason: 'nobody_waiting' });
    expect(await statusOf(users[1]!.id)).toBe('active');
    const plannedWaves = await database.db.anyFirst(sql.type(z.object({ id: z.uuid() }))`SELECT id FROM waves WHERE auto`);
    expect(plannedWaves).toEqual([planned.id]);
  });
});

describe('forecast', () => {
  it('answers "release X, expect Y paying" from measured cohorts, with the data behind it', async () => {
    const empty = await admin('/v1/admin/forecast?release=10');
    expect(empty.body).toMatchObject({ expectedPaying: null });

    // Cohorts admitted 40 days ago: 10 after waiting 3 days (4 paid within 30 days, one more too late),
    // 10 after waiting 35 days (1 paid).
    const cohort = async (waitedDays: number, paid: number, late = 0) => {
      const ids = Array.from({ length: 10 }, () => randomUUID());
      const wave = await database.db.oneFirst(sql.type(z.object({ id: z.uuid() }))`
        INSERT INTO waves (name, seat_cap, opens_at, status, admitted_count, created_by) VALUES ('old', 10, now() - interval '40 days', 'released', 10, 'test') RETURNING id`);
      await database.db.query(sql.unsafe`
        WITH t AS (INSERT INTO tenants (id, name) SELECT x, 'c' FROM unnest(${sql.array(ids, 'uuid')}::uuid[]) x),
        u AS (INSERT INTO users (id, tenant_id, email, inbox, referral_code, status, created_at, admitted_at)
              SELECT x, x, x || '@example.com', x || '@example.com', 'f' || substr(replace(x::text, '-', ''), 1, 11), 'active',
                     now() - interval '40 days' - make_interval(days => ${waitedDays}), now() - interval '40 days'
              FROM unnest(${sql.array(ids, 'uuid')}::uuid[]) x RETURNING id, created_at)
        INSERT INTO wave_admissions (wave_id, user_id, position, waited_since, admitted_at)
        SELECT ${wave}, id, row_number() OVER (ORDER BY id), created_at, now() - interval '40 days' FROM u`);
      for (const [i, id] of ids.slice(0, paid + late).entries()) {
        await database.db.query(sql.unsafe`
          INSERT INTO payments (id, user_id, amount_cents, currency, paid_at)
          VALUES (${`ch_fc_${id}`}, ${id}, 2000, 'USD', now() - interval '40 days' + make_interval(days => ${i < paid ? 5 : 35}))`);
      }
    };
    await cohort(3, 4, 1);
    await cohort(35, 1);
    // In line: 5 who waited 40 days (first, by signup time), then 5 who waited 2 days.
    const line = await waiting(10);
    await database.db.query(sql.unsafe`UPDATE users SET created_at = now() - interval '40 days' WHERE id = ANY(${sql.array(line.slice(0, 5).map((u) => u.id), 'uuid')})`);
    await database.db.query(sql.unsafe`UPDATE users SET created_at = now() - interval '2 days' WHERE id = ANY(${sql.array(line.slice(5).map((u) => u.id), 'uuid')})`);

    const f = await admin('/v1/admin/forecast?release=10');
    expect(f.status).toBe(200);
    // 5 x 1/10 + 5 x 4/10 = 2.5 -> 3.
    expect(f.body).toMatchObject({ requested: 10, release: 10, expectedPaying: 3, observationDays: 30 });
    expect(f.body.lines.find((l: any) => l.bucket === '0-7 days')).toMatchObject({ released: 5, cohort: { admitted: 10, paying: 4 }, rateBps: 4000, basis: 'cohort', expectedHundredths: 200 });
    expect(f.body.lines.find((l: any) => l.bucket === '30-60 days')).toMatchObject({ released: 5, cohort: { admitted: 10, paying: 1 }, rateBps: 1000, basis: 'cohort', expectedHundredths: 50 });
    // Release 5: the 5 who waited longest, who convert worst.
    expect((await admin('/v1/admin/forecast?release=5')).body).toMatchObject({ release: 5, expectedPaying: 1 });
    // More than are waiting: the release is what there is.
    expect((await admin('/v1/admin/forecast?release=1000')).body).toMatchObject({ requested: 1000, release: 10 });
    expect((await admin('/v1/admin/forecast?release=0')).status).toBe(400);
    expect((await admin('/v1/admin/forecast')).status).toBe(400);
  });
});
