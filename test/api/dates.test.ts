// Dates in years 0001-0099 (issue 17, item 2): every route that takes a date refuses one outside
// 2000-01-01..2100-01-01 and writes nothing; a date of any year that is already in the database
// reads back as written, so one such row takes down neither the pages that show it nor the wave
// release. The database runs in Europe/Paris, whose offset before 1891 has seconds (local mean
// time): the probe's machine printed such offsets, which `new Date(text)` could not read.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import type { WorkflowHandle } from '@temporalio/client';
import { createDatabasePool, type DatabasePool } from '../../db/pool.ts';
import { createWaveActivities } from '../../activities/waves.ts';
import { ensureWaveRelease } from '../../workers/wave-schedule.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup } from '../support/graph.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let db: DatabasePool;
let worker: RunningWorker;
let api: TestApi;
let release: WorkflowHandle | undefined;

beforeAll(async () => {
  database = await createTestDatabase(2);
  const name = new URL(database.url).pathname.slice(1);
  await database.db.query(sql.unsafe`ALTER DATABASE ${sql.identifier([name])} SET timezone = 'Europe/Paris'`);
  // A pool of its own: connections opened after the ALTER run in Paris time.
  db = await createDatabasePool(database.url, 8);
  worker = await startDevWorker(db, 'dates', { wavePlan: { targetWaitDays: 30, cadenceDays: 7, leadDays: 2 } });
  api = await startTestApi({
    config: testConfig(database.url, { TEMPORAL_TASK_QUEUE: worker.taskQueue }),
    db,
    temporal: worker.client,
  });
});
afterAll(async () => {
  await release?.terminate('test over').catch(() => {});
  await api?.close();
  await worker?.stop();
  await db?.end();
  await database?.drop();
});

const admin = (path: string, json?: unknown) => api.request(path, { key: TEST_KEYS.admin, json });
const server = (path: string, json?: unknown) => api.request(path, { key: TEST_KEYS.server, json });
const count = (table: 'waves' | 'payments' | 'refunds' | 'invite_codes') =>
  db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM ${sql.identifier([table])}`);

describe('dates clients send', () => {
  it('every route that takes a date refuses one outside 2000-01-01..2100-01-01 with a 400 naming it, and writes nothing', async () => {
    const payer = await signup(api);
    const paid = await server('/v1/payments', { paymentId: `pay-${randomUUID()}`, userId: payer.id, amountCents: 500 });
    expect(paid.status).toBe(201);
    const before = {
      waves: await count('waves'),
      payments: await count('payments'),
      refunds: await count('refunds'),
      codes: await count('invite_codes'),
    };

    const refused = [
      await admin('/v1/admin/waves', { seatCap: 5, opensAt: '0025-12-05T09:00:00Z' }),
      await admin('/v1/admin/waves', { seatCap: 5, opensAt: '2100-01-01T00:00:00Z' }),
      await server('/v1/payments', {
        paymentId: `pay-${randomUUID()}`,
        userId: payer.id,
        amountCents: 500,
        paidAt: '0099-12-31T23:59:59Z',
      }),
      await server('/v1/refunds', {
        refundId: `ref-${randomUUID()}`,
        paymentId: paid.body.paymentId,
        amountCents: 100,
        refundedAt: '0001-01-01T00:00:00Z',
      }),
      await admin('/v1/admin/invite-codes', {
        flavor: 'beta',
        count: 1,
        maxUses: 1,
        expiresAt: '2150-01-01T00:00:00Z',
      }),
    ];
    expect(refused.map((r) => [r.status, r.body.error?.param, r.body.error?.message])).toEqual([
      [400, 'opensAt', expect.stringContaining('between 2000-01-01 and 2100-01-01')],
      [400, 'opensAt', expect.stringContaining('between 2000-01-01 and 2100-01-01')],
      [400, 'paidAt', expect.stringContaining('between 2000-01-01 and 2100-01-01')],
      [400, 'refundedAt', expect.stringContaining('between 2000-01-01 and 2100-01-01')],
      [400, 'expiresAt', expect.stringContaining('between 2000-01-01 and 2100-01-01')],
    ]);
    expect({
      waves: await count('waves'),
      payments: await count('payments'),
      refunds: await count('refunds'),
      codes: await count('invite_codes'),
    }).toEqual(before);
  });

  it('a date with an offset is stored as the instant it names and answered in UTC', async () => {
    const created = await admin('/v1/admin/waves', { seatCap: 1, opensAt: '2090-06-01T09:00:00+02:00' });
    expect(created.status).toBe(201);
    expect(created.body.opensAt).toBe('2090-06-01T07:00:00.000Z');
    await db.query(sql.unsafe`UPDATE waves SET status = 'released' WHERE id = ${created.body.id}`);
  });
});

describe('dates already in the database', () => {
  it('read back as written, whatever the year and the session time zone', async () => {
    const read = (text: string) =>
      db.oneFirst(sql.type(z.object({ at: z.date() }))`SELECT ${text}::timestamptz AS at`).then((d) => d.toISOString());
    expect(await read('0025-12-05T09:00:00Z')).toBe('0025-12-05T09:00:00.000Z');
    expect(await read('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
    expect(await read('0099-12-31T23:59:59.999Z')).toBe('0099-12-31T23:59:59.999Z');
    expect(await read('1850-07-14T12:00:00Z')).toBe('1850-07-14T12:00:00.000Z');
    expect(await read('0044-03-15 12:00:00+00 BC')).toBe('-000043-03-15T12:00:00.000Z');
    expect(await read('2026-03-01T10:00:00.123456Z')).toBe('2026-03-01T10:00:00.123Z');
    // And a Date of such a year goes in as itself (ISO text, which PostgreSQL reads exactly).
    const early = new Date('0025-12-05T09:00:00Z');
    expect(
      await db.oneFirst(
        sql.type(
          z.object({ same: z.boolean() }),
        )`SELECT ${early.toISOString()}::timestamptz = '0025-12-05 09:00:00+00' AS same`,
      ),
    ).toBe(true);
  });

  it('one wave and one payment dated 0025 (written before the check) take down no page, and the wave release admits the wave', async () => {
    const waiting = await signup(api);
    await db.query(sql.unsafe`UPDATE users SET status = 'active' WHERE status = 'waitlisted' AND id <> ${waiting.id}`);
    const typo = await db.oneFirst(sql.type(z.object({ id: z.uuid() }))`
      INSERT INTO waves (name, seat_cap, opens_at, created_by) VALUES ('Typo wave', 1, '0025-12-05 09:00:00+00', 'test')
      RETURNING id`);
    const paymentId = `pay-${randomUUID()}`;
    await db.query(sql.unsafe`
      INSERT INTO payments (id, user_id, amount_cents, currency, paid_at) VALUES (${paymentId}, ${waiting.id}, 700, 'USD', '0025-12-05 09:00:00+00')`);

    const me = await api.request('/v1/waitlist/me', { key: waiting.token });
    expect(me.status).toBe(200);
    expect(me.body.nextWave).toMatchObject({ id: typo, opensAt: '0025-12-05T09:00:00.000Z', seatsLeft: 1 });
    const list = await admin('/v1/admin/waitlist');
    expect(list.status).toBe(200);
    expect(list.body.scheduledWaves).toEqual([
      expect.objectContaining({ id: typo, opensAt: '0025-12-05T09:00:00.000Z' }),
    ]);
    const wave = await admin(`/v1/admin/waves/${typo}`);
    expect(wave.status).toBe(200);
    const payment = await server(`/v1/payments/${paymentId}`);
    expect(payment.status).toBe(200);
    expect(payment.body.paidAt).toBe('0025-12-05T09:00:00.000Z');

    // What the wave-release workflow runs, then the workflow itself: the wave is long due, so it is admitted.
    const activities = createWaveActivities({ db });
    expect(await activities.nextWave()).toEqual({
      waveId: typo,
      name: 'Typo wave',
      opensAt: '0025-12-05T09:00:00.000Z',
    });
    await expect(activities.planWaves()).resolves.toBeDefined();
    const started = await ensureWaveRelease(worker.client, { taskQueue: worker.taskQueue, planEveryMinutes: 60 });
    release = worker.client.workflow.getHandle(started.workflowId);
    const admitted = await eventually(async () => {
      const row = await db.one(
        sql.type(
          z.object({ status: z.string(), admitted_count: z.number() }),
        )`SELECT status, admitted_count FROM waves WHERE id = ${typo}`,
      );
      return row.status === 'released' ? row : undefined;
    });
    expect(admitted).toEqual({ status: 'released', admitted_count: 1 });
    expect((await release.describe()).status.name).toBe('RUNNING');
    expect((await api.request('/v1/waitlist/me', { key: waiting.token })).body).toMatchObject({
      status: 'active',
      admitted: { waveId: typo },
    });
  });
});
