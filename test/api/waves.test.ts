// Waves on the real stack: scheduling, admitting the top of the list (each admitted user active,
// told by mail), idempotent and capped also when called at once, the deployment's long-running
// wave-release workflow (one run, woken by the next wave, the planning round or a message), the
// planner that keeps waits under target, and the forecast.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { ScheduleNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { ensureWaveRelease } from '../../workers/wave-schedule.ts';
import { legacyWaveScheduleId, WAVE_RELEASE_TYPE, wavesChangedSignal } from '../../contracts/wave-release.ts';
import { signalIfRunning } from '../../platform/workflow-delivery.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, type SignedUp } from '../support/graph.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
let api: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = await startDevWorker(database.db, 'waves', {
    wavePlan: { targetWaitDays: 30, cadenceDays: 7, leadDays: 2 },
  });
  api = await startTestApi({
    config: testConfig(database.url, { TEMPORAL_TASK_QUEUE: worker.taskQueue }),
    db: database.db,
    temporal: worker.client,
  });
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

const admin = (path: string, init: { json?: unknown; method?: string } = {}) =>
  api.request(path, { ...init, key: TEST_KEYS.admin });
const soon = () => new Date(Date.now() + 3_600_000).toISOString();
const statusOf = (id: string) =>
  database.db.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM users WHERE id = ${id}`);

/** Waiting users with chosen scores (skip: earned the wave skip), written as the vesting activity would leave them. */
async function waiting(
  n: number,
  standing: (i: number) => { score?: number; skip?: boolean } = () => ({}),
): Promise<SignedUp[]> {
  const users: SignedUp[] = [];
  for (let i = 0; i < n; i++) {
    const u = await signup(api);
    const { score = 0, skip = false } = standing(i);
    await database.db.query(
      sql.unsafe`UPDATE users SET waitlist_score = ${score}, wave_skip = ${skip} WHERE id = ${u.id}`,
    );
    users.push(u);
  }
  return users;
}

describe('waves', () => {
  it('admits the top of the list up to the cap, skips first, each one active and mailed; a second admit changes nothing', async () => {
    const users = await waiting(6, (i) => (i === 5 ? { skip: true } : i === 3 ? { score: 20 } : {}));
    const created = await admin('/v1/admin/waves', { json: { name: 'Wave 3', seatCap: 3, opensAt: soon() } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Wave 3',
      seatCap: 3,
      admittedCount: 0,
      seatsLeft: 3,
      status: 'scheduled',
      planned: false,
      createdBy: expect.stringMatching(/^admin-key:/),
    });

    // A waiting user sees the real seats of the wave to come.
    const view = await api.request('/v1/waitlist/me', { key: users[0]!.token });
    expect(view.body.messages).toContainEqual({
      kind: 'next_wave_seats',
      text: `Wave 3 opens ${new Date(created.body.opensAt).toISOString()} with 3 seats left.`,
    });
    expect(view.body.nextWave).toMatchObject({ id: created.body.id, seatsLeft: 3 });

    const res = await admin(`/v1/admin/waves/${created.body.id}/admit`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ admittedNow: 3, admittedCount: 3, seatsLeft: 0, status: 'released' });
    // Order: the wave skip, then the higher score, then who signed up first.
    const expected = [users[5]!, users[3]!, users[0]!];
    const wave = await admin(`/v1/admin/waves/${created.body.id}`);
    expect(wave.body.admitted.map((a: any) => [a.userId, a.position, a.status])).toEqual(
      expected.map((u, i) => [u.id, i + 1, 'active']),
    );
    for (const u of expected) {
      expect(await statusOf(u.id)).toBe('active');
      const me = await api.request('/v1/waitlist/me', { key: u.token });
      expect(me.body).toMatchObject({
        status: 'active',
        position: null,
        admitted: { waveId: created.body.id, waveName: 'Wave 3' },
      });
    }
    for (const u of [users[1]!, users[2]!, users[4]!]) expect(await statusOf(u.id)).toBe('waitlisted');
    const mails = await database.db.anyFirst(
      sql.type(
        z.object({ to_address: z.string() }),
      )`SELECT to_address FROM mail_outbox WHERE dedupe_key LIKE 'wave-admitted:%' ORDER BY to_address`,
    );
    expect(mails).toEqual(expected.map((u) => u.email).sort());

    const again = await admin(`/v1/admin/waves/${created.body.id}/admit`, { method: 'POST' });
    expect(again.body).toMatchObject({ admittedNow: 0, admittedCount: 3 });
    expect(await statusOf(users[1]!.id)).toBe('waitlisted');
    // No wave to come: no seats message.
    expect(
      (await api.request('/v1/waitlist/me', { key: users[1]!.token })).body.messages.map((m: any) => m.kind),
    ).not.toContain('next_wave_seats');
  });

  it('never exceeds the cap when admitted many times at once, and two waves at once never take the same user', async () => {
    await waiting(12);
    const a = (await admin('/v1/admin/waves', { json: { seatCap: 5, opensAt: soon() } })).body;
    const b = (await admin('/v1/admin/waves', { json: { seatCap: 4, opensAt: soon() } })).body;
    const calls = await Promise.all([
      ...Array.from({ length: 5 }, () => admin(`/v1/admin/waves/${a.id}/admit`, { method: 'POST' })),
      ...Array.from({ length: 5 }, () => admin(`/v1/admin/waves/${b.id}/admit`, { method: 'POST' })),
    ]);
    expect(calls.every((c) => c.status === 200)).toBe(true);
    expect(calls.slice(0, 5).reduce((sum, c) => sum + c.body.admittedNow, 0)).toBe(5);
    expect(calls.slice(5).reduce((sum, c) => sum + c.body.admittedNow, 0)).toBe(4);
    const counts = await database.db.one(sql.type(
      z.object({ a: z.number(), b: z.number(), distinct_users: z.number(), waiting: z.number() }),
    )`
      SELECT count(*) FILTER (WHERE wave_id = ${a.id})::int AS a, count(*) FILTER (WHERE wave_id = ${b.id})::int AS b,
             count(DISTINCT user_id)::int AS distinct_users, (SELECT count(*)::int FROM users WHERE status = 'waitlisted') AS waiting
      FROM wave_admissions WHERE wave_id IN (${a.id}, ${b.id})`);
    expect(counts).toEqual({ a: 5, b: 4, distinct_users: 9, waiting: 3 });
  });

  it('refuses bad input and unknown waves, changing nothing', async () => {
    const before = await database.db.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM waves`,
    );
    for (const json of [
      { seatCap: 0, opensAt: soon() },
      { seatCap: 5 },
      { seatCap: 5, opensAt: 'Friday' },
      { seatCap: 5, opensAt: soon(), admitted: 3 },
      { seatCap: 1.5, opensAt: soon() },
    ]) {
      const res = await admin('/v1/admin/waves', { json });
      expect(res.status).toBe(400);
      expect(res.body.error.type).toBe('invalid_request_error');
    }
    expect(
      await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM waves`),
    ).toBe(before);
    const missing = randomUUID();
    expect((await admin(`/v1/admin/waves/${missing}/admit`, { method: 'POST' })).body.error.code).toBe(
      'wave_not_found',
    );
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
    expect(
      [...first.body.admitted, ...second.body.admitted, ...third.body.admitted].map((a: any) => a.position),
    ).toEqual([1, 2, 3, 4, 5]);
    expect(third.body.nextCursor).toBeNull();
  });
});

describe('the wave-release workflow', () => {
  let keys = 0;
  const running = new Map<string, WorkflowHandle>();
  // Each test its own wave release, ended after it.
  const nextKey = () => `${worker.taskQueue}-${++keys}`;
  const startRelease = async (key: string, planEveryMinutes: number) => {
    const at = await ensureWaveRelease(worker.client, {
      taskQueue: worker.taskQueue,
      planEveryMinutes,
      key,
      legacyPrefix: key,
    });
    running.set(at.workflowId, worker.client.workflow.getHandle(at.workflowId));
    return at;
  };
  afterEach(async () => {
    for (const handle of running.values()) await handle.terminate('test over');
    running.clear();
  });

  /** What ops see on each timer the workflow started, in order. */
  const timerSummaries = async (workflowId: string) => {
    const history = await worker.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? [])
      .filter((e) => e.timerStartedEventAttributes)
      .map((e) =>
        e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : null,
      );
  };
  const runsOf = async (workflowId: string) => {
    const runs: { runId: string; status: string; type: string }[] = [];
    for await (const w of worker.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
      runs.push({ runId: w.runId, status: w.status.name, type: w.type });
    return runs;
  };

  it('retires the Schedule, runs as wave-release:<key>, admits a due wave without anyone calling admit, and plans the next so the longest wait stays under target', async () => {
    const users = await waiting(4);
    const due = (
      await admin('/v1/admin/waves', {
        json: { name: 'Due now', seatCap: 2, opensAt: new Date(Date.now() - 1_000).toISOString() },
      })
    ).body;
    const later = (
      await admin('/v1/admin/waves', {
        json: { name: 'Later', seatCap: 2, opensAt: new Date(Date.now() + 7 * 86_400_000).toISOString() },
      })
    ).body;
    // The last two have waited 27 days: first in line (they signed up "earlier").
    await database.db.query(
      sql.unsafe`UPDATE users SET created_at = now() - interval '27 days' WHERE id IN (${users[2]!.id}, ${users[3]!.id})`,
    );

    // The Schedule of before, paused so that only the workflow can admit anyone here.
    const key = nextKey();
    await worker.client.schedule.create({
      scheduleId: legacyWaveScheduleId(key),
      spec: { intervals: [{ every: '1 minute' }] },
      action: {
        type: 'startWorkflow',
        workflowType: WAVE_RELEASE_TYPE,
        workflowId: `${key}wave-release`,
        taskQueue: worker.taskQueue,
        args: [],
      },
      state: { paused: true },
    });
    const started = await startRelease(key, 60);
    expect(started).toEqual({ workflowId: `wave-release:${key}`, running: true, scheduleDeleted: true });
    await expect(worker.client.schedule.getHandle(legacyWaveScheduleId(key)).describe()).rejects.toThrow(
      ScheduleNotFoundError,
    );
    expect(
      await ensureWaveRelease(worker.client, {
        taskQueue: worker.taskQueue,
        planEveryMinutes: 60,
        key,
        legacyPrefix: key,
      }),
    ).toEqual({ ...started, scheduleDeleted: false });

    const dueNow = await eventually(async () => {
      const wave = (await admin(`/v1/admin/waves/${due.id}`)).body;
      return wave.status === 'released' ? wave : undefined;
    });
    expect(dueNow).toMatchObject({ admittedCount: 2, seatCap: 2 });
    expect(await statusOf(users[2]!.id)).toBe('active');
    expect(await statusOf(users[3]!.id)).toBe('active');
    expect((await admin(`/v1/admin/waves/${later.id}`)).body.status).toBe('scheduled');
    // Nobody else waits long enough for a plan: the next look is the planning round, an hour on.
    await eventually(async () => ((await timerSummaries(started.workflowId)).length > 0 ? true : undefined));
    expect(await timerSummaries(started.workflowId)).toEqual([
      expect.stringMatching(/^until the next planning round at \S+Z \(or wavesChanged\)$/),
    ]);
    expect(await database.db.anyFirst(sql.type(z.object({ id: z.uuid() }))`SELECT id FROM waves WHERE auto`)).toEqual(
      [],
    );

    // Now one who waited 29 days behind a high scorer, and the workflow told so: the planned wave
    // opens now, covers down to them (position 2; the "Later" wave opens after it), and is admitted.
    await database.db.query(
      sql.unsafe`UPDATE users SET created_at = now() - interval '29 days' WHERE id = ${users[1]!.id}`,
    );
    await database.db.query(sql.unsafe`UPDATE users SET waitlist_score = 50 WHERE id = ${users[0]!.id}`);
    expect((await admin('/v1/admin/waitlist')).body).toMatchObject({
      waiting: 2,
      targetWaitDays: 30,
      longestWaitDays: 29,
    });
    expect(await signalIfRunning(worker.client, started.workflowId, wavesChangedSignal, [])).toBe(true);
    await eventually(async () => ((await statusOf(users[1]!.id)) === 'active' ? true : undefined));
    expect(await statusOf(users[0]!.id)).toBe('active');
    const planned = await database.db.many(sql.type(
      z.object({ seat_cap: z.number(), status: z.string(), created_by: z.string(), opens_at: z.date() }),
    )`
      SELECT seat_cap, status, created_by, opens_at FROM waves WHERE auto`);
    expect(planned).toEqual([expect.objectContaining({ seat_cap: 2, status: 'released', created_by: 'wave-planner' })]);
    expect(Math.abs(planned[0]!.opens_at.getTime() - Date.now())).toBeLessThan(60_000);
    // The planned wave opened at once, so the workflow woke for it rather than for the next planning round.
    expect(await timerSummaries(started.workflowId)).toContainEqual(expect.stringMatching(/^until Wave \d+ opens at /));
  });

  it('while nothing is due stays one run, waking at each planning round', async () => {
    const since = new Date().toISOString();
    // A planning round every 3 seconds.
    const { workflowId } = await startRelease(nextKey(), 0.05);
    const summaries = await eventually(async () => {
      const s = await timerSummaries(workflowId);
      return s.length >= 4 ? s : undefined;
    });
    expect(summaries.every((s) => s?.startsWith('until the next planning round at '))).toBe(true);
    const runs = await runsOf(workflowId);
    expect(runs).toEqual([{ runId: expect.any(String), status: 'RUNNING', type: WAVE_RELEASE_TYPE }]);
    // Nor any other run on the deployment's task queue meanwhile.
    expect(
      (await worker.client.workflow.count(`TaskQueue = '${worker.taskQueue}' AND StartTime >= '${since}'`)).count,
    ).toBe(1);
  });

  it('wakes for a wave created before its next look: creating it through the API tells the release', async () => {
    const [user] = await waiting(1);
    // The deployment's own release (its key is the task queue the API is configured with).
    const { workflowId } = await startRelease(worker.taskQueue, 60);
    await eventually(async () => ((await timerSummaries(workflowId)).length > 0 ? true : undefined));
    const soonWave = (
      await admin('/v1/admin/waves', {
        json: { name: 'In two seconds', seatCap: 1, opensAt: new Date(Date.now() + 2_000).toISOString() },
      })
    ).body;
    await eventually(async () => ((await statusOf(user!.id)) === 'active' ? true : undefined));
    expect((await admin(`/v1/admin/waves/${soonWave.id}`)).body).toMatchObject({
      status: 'released',
      admittedCount: 1,
    });
    expect(await timerSummaries(workflowId)).toContainEqual(expect.stringMatching(/^until In two seconds opens at /));
  });

  it('a release that was ended (ops terminated it) is started again when the worker starts', async () => {
    const key = nextKey();
    const first = await startRelease(key, 60);
    await worker.client.workflow.getHandle(first.workflowId).terminate('ops: testing a restart');
    expect(await startRelease(key, 60)).toMatchObject({ workflowId: first.workflowId, running: true });
    // Visibility is eventually consistent: the new run shows up in a list a moment after it started.
    const statuses = await eventually(async () => {
      const found = (await runsOf(first.workflowId)).map((r) => r.status).sort();
      return found.length === 2 ? found : undefined;
    });
    expect(statuses).toEqual(['RUNNING', 'TERMINATED']);
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
    await database.db.query(
      sql.unsafe`UPDATE users SET created_at = now() - interval '40 days' WHERE id = ANY(${sql.array(
        line.slice(0, 5).map((u) => u.id),
        'uuid',
      )})`,
    );
    await database.db.query(
      sql.unsafe`UPDATE users SET created_at = now() - interval '2 days' WHERE id = ANY(${sql.array(
        line.slice(5).map((u) => u.id),
        'uuid',
      )})`,
    );

    const f = await admin('/v1/admin/forecast?release=10');
    expect(f.status).toBe(200);
    // 5 x 1/10 + 5 x 4/10 = 2.5 -> 3.
    expect(f.body).toMatchObject({ requested: 10, release: 10, expectedPaying: 3, observationDays: 30 });
    expect(f.body.lines.find((l: any) => l.bucket === '0-7 days')).toMatchObject({
      released: 5,
      cohort: { admitted: 10, paying: 4 },
      rateBps: 4000,
      basis: 'cohort',
      expectedHundredths: 200,
    });
    expect(f.body.lines.find((l: any) => l.bucket === '30-60 days')).toMatchObject({
      released: 5,
      cohort: { admitted: 10, paying: 1 },
      rateBps: 1000,
      basis: 'cohort',
      expectedHundredths: 50,
    });
    // Release 5: the 5 who waited longest, who convert worst.
    expect((await admin('/v1/admin/forecast?release=5')).body).toMatchObject({ release: 5, expectedPaying: 1 });
    // More than are waiting: the release is what there is.
    expect((await admin('/v1/admin/forecast?release=1000')).body).toMatchObject({ requested: 1000, release: 10 });
    expect((await admin('/v1/admin/forecast?release=0')).status).toBe(400);
    expect((await admin('/v1/admin/forecast')).status).toBe(400);
  });
});
