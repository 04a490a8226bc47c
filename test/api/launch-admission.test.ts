// The launch strands no one (issue 16, item 10), on the real stack: when the program goes public the
// launch-flip workflow admits everyone still on the waitlist, in the waitlist's order, page by page
// (continuing as new), each made active and mailed once, counted in GET /v1/admin/launch; a signup
// after the flip (or racing it) waits behind them until the admission has finished, then signups are
// active at once. One flip per database: the tests below run in order on it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { admitWaitlistPage } from '../../db/launch.ts';
import { WAITLIST_ORDER } from '../../db/waitlist.ts';
import { LAUNCH_ADMISSION_MAIL } from '../../domain/launch.ts';
import { createLogger } from '../../platform/logger.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { launchProgressQuery } from '../../contracts/launch-flip.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, type SignedUp } from '../support/graph.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
let starter: WorkflowStarter | null = null;
let api: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = await startDevWorker(database.db, 'admission');
  api = await startTestApi({
    config: testConfig(database.url, { TEMPORAL_TASK_QUEUE: worker.taskQueue }),
    db: database.db,
    temporal: worker.client,
  });
});

const startStarter = () => {
  starter = startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: worker.client,
    taskQueue: worker.taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs: 200,
  });
};
afterAll(async () => {
  await api?.close();
  await starter?.stop();
  await worker?.stop();
  await database?.drop();
});

const admin = (method: 'GET' | 'POST', path = '/v1/admin/launch') =>
  api.request(path, { method, key: TEST_KEYS.admin });
const statusOf = (userId: string) =>
  database.db.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM users WHERE id = ${userId}`);
/** Everyone waitlisted now, in the waitlist's order. */
const waitlistOrder = () =>
  database.db.anyFirst(
    sql.type(z.object({ id: z.uuid() }))`SELECT id FROM users WHERE status = 'waitlisted' ORDER BY ${WAITLIST_ORDER}`,
  );
const admissions = () =>
  database.db.any(sql.type(z.object({ user_id: z.uuid(), position: z.number() }))`
    SELECT user_id, position FROM launch_admissions ORDER BY position`);

let waiting: SignedUp[] = [];
let orderAtFlip: readonly string[] = [];
let racing: SignedUp[] = [];
let afterFlip: SignedUp[] = [];

describe('before the flip', () => {
  it('30 people wait in the waitlist order (some moved up by their score)', async () => {
    for (let i = 0; i < 30; i++) waiting.push(await signup(api));
    expect(waiting.every((w) => w.body.user.status === 'waitlisted')).toBe(true);
    // Five of them earned a score (as vested referrals would), two a wave skip: they are ahead.
    await database.db.query(sql.unsafe`
      UPDATE users SET waitlist_score = 10 * (array_position(${sql.array(
        waiting.slice(20, 25).map((w) => w.id),
        'uuid',
      )}, id)) WHERE id = ANY(${sql.array(
        waiting.slice(20, 25).map((w) => w.id),
        'uuid',
      )})`);
    await database.db.query(
      sql.unsafe`UPDATE users SET wave_skip = true WHERE id = ANY(${sql.array([waiting[27]!.id, waiting[3]!.id], 'uuid')})`,
    );
    expect((await admin('GET')).body).toMatchObject({ phase: 'beta', waitlist: null });
  });
});

describe('the flip', () => {
  it('flips with a signup racing it; neither the racers nor later signups are active before the admission', async () => {
    // The relay is not running yet: the flip's workflow starts later, to see signups wait meanwhile.
    const [flipped, ...raced] = await Promise.all([
      admin('POST', '/v1/admin/launch?pageSize=7&pagesPerRun=2'),
      ...Array.from({ length: 4 }, () => signup(api)),
    ]);
    racing = raced;
    expect(flipped!.status).toBe(202);
    for (const r of racing) expect(await statusOf(r.id)).toBe('waitlisted');
    // After the flip: waitlisted behind everyone who waited (the flip's admission has not finished).
    for (let i = 0; i < 3; i++) afterFlip.push(await signup(api));
    for (const a of afterFlip) expect(a.body.user.status).toBe('waitlisted');

    orderAtFlip = await waitlistOrder();
    expect(orderAtFlip).toHaveLength(37);
    // Every racer and later signup is behind all 30 who waited.
    expect(orderAtFlip.slice(0, 30).sort()).toEqual(waiting.map((w) => w.id).sort());
    expect(orderAtFlip.slice(34)).toEqual(afterFlip.map((a) => a.id));

    const view = (await admin('GET')).body;
    expect(view).toMatchObject({ phase: 'public', status: 'starting' });
    // Racers that committed before the flip were counted in it; the others wait as well.
    expect(view.waitlist.atFlip).toBeGreaterThanOrEqual(30);
    expect(view.waitlist.atFlip).toBeLessThanOrEqual(34);
    expect(view.waitlist).toMatchObject({ admitted: 0, total: 37, remaining: 37, finishedAt: null });
  });

  it('admits everyone in the waitlist order, each active and mailed once, counted in the admin view', async () => {
    startStarter();
    const done = await eventually(async () => {
      const res = await admin('GET');
      return res.body.status === 'completed' ? res.body : undefined;
    }, 60_000);
    expect(done.waitlist).toMatchObject({ admitted: 37, total: 37, remaining: 0, finishedAt: expect.any(String) });

    // In order: position 1 is the head of the waitlist at the flip, 37 the last signup.
    const admitted = await admissions();
    expect(admitted.map((a) => a.user_id)).toEqual(orderAtFlip);
    expect(admitted.map((a) => a.position)).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));
    for (const id of orderAtFlip) expect(await statusOf(id)).toBe('active');

    const mails = await database.db.any(sql.type(
      z.object({ dedupe_key: z.string(), to_address: z.string(), subject: z.string() }),
    )`
      SELECT dedupe_key, to_address, subject FROM mail_outbox WHERE dedupe_key LIKE 'launch-admitted:%' ORDER BY dedupe_key`);
    expect(mails).toHaveLength(37);
    expect(new Set(mails.map((m) => m.dedupe_key))).toEqual(new Set(orderAtFlip.map((id) => `launch-admitted:${id}`)));
    expect(mails.every((m) => m.subject === LAUNCH_ADMISSION_MAIL.subject)).toBe(true);
    const emails = new Map([...waiting, ...racing, ...afterFlip].map((u) => [`launch-admitted:${u.id}`, u.email]));
    for (const m of mails) expect(m.to_address).toBe(emails.get(m.dedupe_key));

    // Pages of 7, two per run: the admission continued as new.
    const flip = worker.client.workflow.getHandle(done.workflowId);
    expect((await flip.query(launchProgressQuery)).runs).toBeGreaterThanOrEqual(3);
  });

  it('a page run again admits nobody twice, and signups are active at once from now on', async () => {
    expect(await admitWaitlistPage(database.db, 7, () => LAUNCH_ADMISSION_MAIL)).toEqual({
      admitted: 0,
      waitlistAdmitted: 37,
      finished: true,
    });
    const later = await signup(api);
    expect(later.body.user.status).toBe('active');
    expect(await admissions()).toHaveLength(37);
    expect((await admin('GET')).body.waitlist).toMatchObject({ admitted: 37, total: 37, remaining: 0 });
  });
});
