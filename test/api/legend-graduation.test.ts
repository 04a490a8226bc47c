// Legend graduates (issue 16, item 9), on the real stack: reaching the 100 rung enrolls the referrer's
// tenant as an approved partner at the intentional rate (not the beta tier), once, in the standing's
// transaction. Vesting 100 edges through workflows is slow: 99 are stamped directly (dated a day apart,
// as a referrer would have brought them) and the standing refreshed as the vesting activity does;
// the 100th goes through the real path (signup, relay, activation, the edge's workflow vesting it).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { refreshStanding } from '../../db/standing.ts';
import { createLogger } from '../../platform/logger.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { partner, signup } from '../support/graph.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
let starter: WorkflowStarter;
let api: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = await startDevWorker(database.db, 'legend');
  api = await startTestApi({
    config: testConfig(database.url, { TEMPORAL_TASK_QUEUE: worker.taskQueue }),
    db: database.db,
    temporal: worker.client,
  });
  starter = startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: worker.client,
    taskQueue: worker.taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs: 200,
  });
});
afterAll(async () => {
  await api?.close();
  await starter?.stop();
  await worker?.stop();
  await database?.drop();
});

let batch = 0;
/** `n` beta auto-enrolled referrals of the referrer, written and vested directly, one a day back from yesterday. */
async function vestedReferrals(referrerId: string, n: number): Promise<readonly string[]> {
  const prefix = `legend-${++batch}-${Date.now().toString(36)}`;
  return database.db.anyFirst(sql.type(z.object({ id: z.uuid() }))`
    WITH r AS (SELECT gen_random_uuid() AS uid, gen_random_uuid() AS tid, g FROM generate_series(1, ${n}::int) g),
    t AS (INSERT INTO tenants (id, name, owner_user_id) SELECT tid, ${prefix}, uid FROM r),
    u AS (INSERT INTO users (id, tenant_id, email, inbox, referral_code)
          SELECT uid, tid, ${prefix} || '-' || g || '@example.com', ${prefix} || '-' || g || '@example.com', 'l' || substr(md5(uid::text), 1, 9) FROM r)
    INSERT INTO edges (referrer_id, referee_id, source, kind, phase_at_write, activation_window_days, created_at, vested_at)
    SELECT ${referrerId}, uid, 'link', 'beta_auto', 'beta', 30, now() - g * interval '1 day', now() FROM r
    RETURNING id`);
}

/** The standing refreshed as the vesting activity (or a void) does it. */
const refresh = (referrerId: string, reason = 'test') =>
  database.db.transaction((tx) => refreshStanding(tx, referrerId, reason));

const partnerOf = (tenantId: string) => api.request(`/v1/partners/${tenantId}`, { key: TEST_KEYS.admin });
const graduations = (userId: string) =>
  database.db.any(sql.type(z.object({ source: z.string(), outcome: z.string(), vested_referrals: z.number() }))`
    SELECT source, outcome, vested_referrals FROM partner_graduations WHERE user_id = ${userId}`);
const rung100 = (userId: string) =>
  database.db.any(sql.type(z.object({ grant_no: z.number(), revoked: z.boolean() }))`
    SELECT grant_no, revoked_at IS NOT NULL AS revoked FROM milestone_grants WHERE user_id = ${userId} AND rung = 100 ORDER BY grant_no`);

const INTENTIONAL = { salesCommissionBps: 2_000, creditCommissionBps: 500, recurring: true, recurringMonths: 12 };

describe('legend graduates', () => {
  it('the 100th referral vesting through its workflow enrolls the referrer as an approved partner at the intentional rate', async () => {
    const referrer = await signup(api);
    await vestedReferrals(referrer.id, 99);
    const at99 = await refresh(referrer.id);
    expect(at99).toMatchObject({ vested: 99, graduated: null });
    expect(at99!.rungsGranted).toEqual([1, 3, 5, 10, 25, 50]);
    expect((await partnerOf(referrer.tenantId)).status).toBe(404);

    // The 100th: signed up through the link, its workflow started by the relay, vested at activation.
    const referee = await signup(api, { ref: referrer.referralCode });
    expect(referee.body.edge.kind).toBe('beta_auto');
    await eventually(async () =>
      (await database.db.exists(
        sql.unsafe`SELECT 1 FROM workflow_outbox o JOIN edges e ON o.subject_id = e.id::text WHERE e.referee_id = ${referee.id} AND o.started_at IS NOT NULL`,
      ))
        ? true
        : undefined,
    );
    const activated = await api.request('/v1/activations', { json: { userId: referee.id }, key: TEST_KEYS.server });
    expect(activated.status).toBe(202);

    const enrolled = await eventually(async () => {
      const res = await partnerOf(referrer.tenantId);
      return res.status === 200 ? res.body : undefined;
    }, 60_000);
    expect(enrolled).toMatchObject({
      ...INTENTIONAL,
      approved: true,
      approvedBy: 'milestone:100',
      approvedAt: expect.any(String),
      status: 'active',
      referralCode: expect.stringMatching(/^[2-9a-hjkmnp-z]{10}$/),
    });
    expect(await graduations(referrer.id)).toEqual([
      { source: 'milestone:100', outcome: 'enrolled', vested_referrals: 100 },
    ]);
    expect(await rung100(referrer.id)).toEqual([{ grant_no: 1, revoked: false }]);
  });

  it('a rung revoked by a void and reached again does not enroll twice', async () => {
    const referrer = await signup(api);
    const edges = await vestedReferrals(referrer.id, 100);
    expect(await refresh(referrer.id)).toMatchObject({ vested: 100, graduated: 'enrolled' });
    const first = (await partnerOf(referrer.tenantId)).body;

    // An admin changes the terms (their decision stands); a void takes the rung back; the partner stays.
    expect(
      (
        await api.request(`/v1/admin/partners/${referrer.tenantId}`, {
          method: 'PATCH',
          json: { salesCommissionBps: 2_500 },
          key: TEST_KEYS.admin,
        })
      ).status,
    ).toBe(200);
    await database.db.query(sql.unsafe`UPDATE edges SET voided_at = now() WHERE id = ${edges[0]!}`);
    expect(await refresh(referrer.id, 'void')).toMatchObject({ vested: 99, rungsRevoked: [100], graduated: null });
    expect((await partnerOf(referrer.tenantId)).status).toBe(200);

    // Reached again: the rung's second grant, no second graduation, the partner as the admin left it.
    await vestedReferrals(referrer.id, 1);
    expect(await refresh(referrer.id)).toMatchObject({ vested: 100, rungsGranted: [100], graduated: null });
    expect(await rung100(referrer.id)).toEqual([
      { grant_no: 1, revoked: true },
      { grant_no: 2, revoked: false },
    ]);
    expect(await graduations(referrer.id)).toHaveLength(1);
    expect((await partnerOf(referrer.tenantId)).body).toMatchObject({
      salesCommissionBps: 2_500,
      referralCode: first.referralCode,
      approvedBy: 'milestone:100',
    });
    // Refreshed again, nothing moves.
    expect(await refresh(referrer.id)).toMatchObject({ rungsGranted: [], rungsRevoked: [], graduated: null });
  });

  it('an existing partner is never downgraded: below the intentional rate it is raised, at or above it kept', async () => {
    // A beta-tier partner (as the launch flip enrolls): raised to the intentional rates.
    const beta = await signup(api);
    await partner(api, beta.tenantId, { salesCommissionBps: 1_000, creditCommissionBps: 0, recurring: false });
    await vestedReferrals(beta.id, 100);
    expect(await refresh(beta.id)).toMatchObject({ graduated: 'raised' });
    expect((await partnerOf(beta.tenantId)).body).toMatchObject({
      ...INTENTIONAL,
      approved: true,
      approvedBy: expect.stringMatching(/^admin-key:/),
    });
    expect(await graduations(beta.id)).toEqual([{ source: 'milestone:100', outcome: 'raised', vested_referrals: 100 }]);

    // A partner on better terms: kept as it is.
    const better = await signup(api);
    await partner(api, better.tenantId, { salesCommissionBps: 3_000, creditCommissionBps: 1_000, recurringMonths: 24 });
    await vestedReferrals(better.id, 100);
    expect(await refresh(better.id)).toMatchObject({ graduated: 'kept' });
    expect((await partnerOf(better.tenantId)).body).toMatchObject({
      salesCommissionBps: 3_000,
      creditCommissionBps: 1_000,
      recurringMonths: 24,
    });

    // An unapproved or inactive partner keeps the admin's decision; its rates are raised.
    const pending = await signup(api);
    await partner(api, pending.tenantId, { approved: false, salesCommissionBps: 1_500 });
    await vestedReferrals(pending.id, 100);
    expect(await refresh(pending.id)).toMatchObject({ graduated: 'raised' });
    expect((await partnerOf(pending.tenantId)).body).toMatchObject({ approved: false, salesCommissionBps: 2_000 });
  });
});
