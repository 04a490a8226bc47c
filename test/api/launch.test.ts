// The launch flip on the real stack: admin flips the program (one transaction, the workflow started
// through the outbox), payments are priced at the public tier from the commit on whether or not
// their edge's workflow was told, the launch-flip workflow tells every beta edge page by page
// (continuing as new), enrolls the beta referrers as partners, and edges written during or after
// the flip are born public. One flip per database: the tests below run in order on it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { insertSignup } from '../../db/users.ts';
import type { Referrer } from '../../db/graph.ts';
import { referralCodeFrom, REFERRAL_CODE_LENGTH } from '../../domain/referral-code.ts';
import { createLogger } from '../../platform/logger.ts';
import { edgeFrom } from '../../services/edge-from-referrer.ts';
import { edgeLifecycleStarts } from '../../db/edges.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { LAUNCH_SUBJECT, launchProgressQuery } from '../../contracts/launch-flip.ts';
import { EDGE_SUBJECT, edgeWorkflowId, stateQuery } from '../../contracts/edge-lifecycle.ts';
import { EdgeKind, PartnerId, ProgramPhase } from '../../contracts/search-attributes.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { partner, signup, uniqueEmail, type SignedUp } from '../support/graph.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
let starter: WorkflowStarter | null = null;
let api: TestApi;

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
const stopStarter = async () => {
  await starter?.stop();
  starter = null;
};

beforeAll(async () => {
  database = await createTestDatabase();
  worker = await startDevWorker(database.db, 'launch');
  api = await startTestApi({
    config: testConfig(database.url, { TEMPORAL_TASK_QUEUE: worker.taskQueue }),
    db: database.db,
    temporal: worker.client,
  });
  startStarter();
});
afterAll(async () => {
  await api?.close();
  await stopStarter();
  await worker?.stop();
  await database?.drop();
});

const admin = (method: 'GET' | 'POST', path = '/v1/admin/launch') =>
  api.request(path, { method, key: TEST_KEYS.admin });
const server = (path: string, json?: unknown) =>
  api.request(path, json === undefined ? { key: TEST_KEYS.server } : { json, key: TEST_KEYS.server });
const edgeHandle = (userId: string) => worker.client.workflow.getHandle(edgeWorkflowId(userId));
const stateOf = (userId: string) => edgeHandle(userId).query(stateQuery);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;
const paymentId = () => `ch_launch_${Date.now().toString(36)}_${++n}`;

/** Waits until the edge's workflow has priced the payment; answers its commission as the API shows it. */
const priced = (id: string) =>
  eventually(async () => {
    const res = await server(`/v1/payments/${id}`);
    return res.body.commission?.status !== 'pending' ? res.body.commission : undefined;
  });
const pay = async (userId: string, amountCents: number) => {
  const id = paymentId();
  expect((await server('/v1/payments', { paymentId: id, userId, amountCents })).status).toBe(201);
  return priced(id);
};
const started = (userId: string) => eventually(async () => ((await stateOf(userId)).state ? true : undefined));
const activate = async (userId: string) => {
  expect((await server('/v1/activations', { userId })).status).toBe(202);
  await eventually(async () => ((await stateOf(userId)).state === 'awaiting_first_payment' ? true : undefined));
};
/** Holds back (or releases) the outbox row that starts the launch flip, or the workflow of the edge of a referee. */
const outboxHold = (of: 'launch' | { refereeId: string }, hold: boolean) =>
  database.db.query(sql.unsafe`
  UPDATE workflow_outbox SET claimed_until = ${hold ? sql.fragment`now() + interval '1 hour'` : sql.fragment`NULL`}
  WHERE signal_name IS NULL AND ${
    of === 'launch'
      ? sql.fragment`subject = ${LAUNCH_SUBJECT}`
      : sql.fragment`subject = ${EDGE_SUBJECT} AND subject_id = (SELECT id::text FROM edges WHERE referee_id = ${of.refereeId})`
  }`);

/** A signup whose writer read the program phase as beta (findReferrer) before the flip committed. */
function staleBetaSignup(referrer: SignedUp) {
  const read: Referrer = {
    id: referrer.id,
    email: referrer.email,
    phase: 'beta',
    via_partner_code: false,
    partner_tenant_id: null,
    partner_approved: false,
    partner_active: false,
  };
  const email = uniqueEmail('stale');
  const user = {
    id: randomUUID(),
    tenantId: randomUUID(),
    email,
    inbox: email,
    referralCode: referralCodeFrom(randomBytes(REFERRAL_CODE_LENGTH)),
    createdAt: new Date(),
  };
  return { user, edge: edgeFrom(read, 'link', null, 30) };
}
const edgeRowOf = (refereeId: string) =>
  database.db.one(sql.type(z.object({ kind: z.string(), phase_at_write: z.string() }))`
  SELECT kind, phase_at_write FROM edges WHERE referee_id = ${refereeId}`);

// The graph before the flip.
let r1: SignedUp;
let r2: SignedUp;
let betaReferees: SignedUp[] = [];
let payer: SignedUp; // activated in beta, pays before and after the flip
let lagging: SignedUp; // its workflow not started by the relay when the flip reaches it
let ended: SignedUp; // its workflow has ended: skipped
let partnerCustomer: SignedUp; // an intentional edge: earns its partner's rates in either phase, not told
let partnerTenant: string;
let duringFlip: string; // written in a transaction the flip had to wait for
let launchWorkflowId: string;

describe('before the flip', () => {
  it("is admin's alone and shows the program in beta", async () => {
    for (const method of ['GET', 'POST'] as const) {
      expect((await api.request('/v1/admin/launch', { method })).status).toBe(401);
      for (const key of [TEST_KEYS.server, TEST_KEYS.finance, TEST_KEYS.partnerA])
        expect((await api.request('/v1/admin/launch', { method, key })).status).toBe(403);
    }
    r1 = await signup(api);
    expect((await api.request('/v1/admin/launch', { method: 'POST', key: r1.token })).status).toBe(403);
    const res = await admin('GET');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      phase: 'beta',
      phaseChangedAt: null,
      status: 'not_started',
      workflowId: null,
      total: 0,
      converted: 0,
      skipped: 0,
    });
  });

  it('builds the beta graph: running edges, one ended, one the relay has not started, one of a partner', async () => {
    r2 = await signup(api);
    for (let i = 0; i < 12; i++) betaReferees.push(await signup(api, { ref: (i % 3 === 0 ? r2 : r1).referralCode }));
    expect(betaReferees.every((r) => r.body.edge.kind === 'beta_auto')).toBe(true);
    payer = betaReferees[0]!;
    ended = betaReferees[1]!;
    for (const r of betaReferees) await started(r.id);
    await edgeHandle(ended.id).terminate('test: the edge ended before the flip');

    await stopStarter();
    lagging = await signup(api, { ref: r2.referralCode });
    await outboxHold({ refereeId: lagging.id }, true);
    startStarter();

    const owner = await signup(api);
    partnerTenant = owner.tenantId;
    const terms = await partner(api, partnerTenant);
    partnerCustomer = await signup(api, { ref: terms.referralCode });
    expect(partnerCustomer.body.edge.kind).toBe('intentional');
    await started(partnerCustomer.id);

    // In beta a beta auto-enrolled edge earns nothing in cash.
    await activate(payer.id);
    // r1's referral vests too: the flip enrolls referrers with a vested beta edge (r2's is the payer's).
    await activate(betaReferees[4]!.id);
    expect(await pay(payer.id, 5_000)).toEqual({
      status: 'not_eligible',
      reason: 'beta_phase',
      cashCents: 0,
      credits: 0,
    });
  });
});

describe('the flip', () => {
  it('waits for edges being written, flips at once, and starts its workflow durably (202)', async () => {
    await stopStarter(); // the flip's workflow stays in the outbox until we let it go

    // A signup in flight: it read beta and wrote its edge; the flip must wait for it to commit.
    const stale = staleBetaSignup(r2);
    duringFlip = stale.user.id;
    let commit!: () => void;
    let wrote!: () => void;
    const written = new Promise<void>((r) => (wrote = r));
    const inFlight = database.db.transaction(async (tx) => {
      await insertSignup(tx, stale.user, stale.edge);
      wrote();
      await new Promise<void>((r) => (commit = r));
    });
    await written;
    const post = admin('POST', '/v1/admin/launch?pageSize=3&pagesPerRun=2');
    expect(await Promise.race([post.then(() => 'answered'), sleep(500).then(() => 'waiting')])).toBe('waiting');
    commit();
    await inFlight;
    const flipped = await post;

    expect(flipped.status).toBe(202);
    const betaEdges = await database.db.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM edges WHERE kind = 'beta_auto'`,
    );
    expect(betaEdges).toBe(betaReferees.length + 2); // + lagging + the one written during the flip
    expect(flipped.body).toMatchObject({
      phase: 'public',
      status: 'starting',
      total: betaEdges,
      converted: 0,
      skipped: 0,
      remaining: betaEdges,
      startedBy: expect.stringMatching(/^admin-key:/),
      finishedAt: null,
      workflowId: `launch-flip:${worker.taskQueue}`,
    });
    expect(flipped.body.phaseChangedAt).toEqual(flipped.body.startedAt);
    launchWorkflowId = flipped.body.workflowId;
    expect(await edgeRowOf(duringFlip)).toEqual({ kind: 'beta_auto', phase_at_write: 'beta' }); // committed before the flip: a beta edge like the others
    await outboxHold('launch', true);
    startStarter();
  });

  it('prices a payment on a beta edge whose workflow was not told yet at the public tier', async () => {
    const commission = await pay(payer.id, 5_000);
    expect(commission).toEqual({ status: 'earned', reason: null, cashCents: 500, credits: 0 }); // 10%: the beta auto-enrolled tier
    expect((await stateOf(payer.id)).phase).toBe('beta'); // nobody told the workflow: pricing read the phase in PostgreSQL
    expect((await admin('GET')).body).toMatchObject({ phase: 'public', status: 'starting', converted: 0 });
  });

  it('a second call answers the flip and changes nothing (200)', async () => {
    const first = (await admin('GET')).body;
    const again = await admin('POST');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      phase: 'public',
      startedAt: first.startedAt,
      phaseChangedAt: first.phaseChangedAt,
      total: first.total,
      workflowId: launchWorkflowId,
    });
    const starts = await database.db.oneFirst(
      sql.type(
        z.object({ n: z.number() }),
      )`SELECT count(*)::int AS n FROM workflow_outbox WHERE subject = ${LAUNCH_SUBJECT}`,
    );
    expect(starts).toBe(1);
  });

  it('tells every beta edge page by page, continuing as new, with exact progress', async () => {
    await outboxHold('launch', false);
    const seen: { status: string; converted: number }[] = [];
    const done = await eventually(async () => {
      const res = await admin('GET');
      seen.push({ status: res.body.status, converted: res.body.converted });
      return res.body.status === 'completed' ? res.body : undefined;
    }, 60_000);
    const total = betaReferees.length + 2;
    expect(done).toMatchObject({
      total,
      converted: total - 1,
      skipped: 1,
      remaining: 0,
      finishedAt: expect.any(String),
    });
    expect(seen.map((s) => s.converted)).toEqual([...seen.map((s) => s.converted)].sort((a, b) => a - b)); // never goes back

    for (const referee of [...betaReferees.filter((r) => r !== ended), lagging]) {
      const handle = edgeHandle(referee.id);
      expect((await handle.query(stateQuery)).phase).toBe('public');
      expect((await handle.describe()).typedSearchAttributes.get(ProgramPhase)).toBe('public');
    }
    expect((await stateOf(duringFlip)).phase).toBe('public');
    expect((await edgeHandle(ended.id).describe()).status.name).toBe('TERMINATED');
    expect((await stateOf(partnerCustomer.id)).phase).toBe('beta'); // intentional edges earn the same in either phase: not told
    // Ops find no running beta auto-enrolled edge of this deployment left in beta.
    await eventually(async () =>
      (
        await worker.client.workflow.count(
          `TaskQueue = "${worker.taskQueue}" AND ExecutionStatus = "Running" AND EdgeKind = "beta_auto" AND ProgramPhase = "beta"`,
        )
      ).count === 0
        ? true
        : undefined,
    );

    // Pages of 3, two per run: the flip continued as new (never one giant history).
    const flip = worker.client.workflow.getHandle(launchWorkflowId);
    expect(await flip.result()).toEqual({ total, converted: total - 1, skipped: 1, partnersEnrolled: 2 });
    expect((await flip.query(launchProgressQuery)).runs).toBeGreaterThanOrEqual(3);
  });

  it('enrolled the beta referrers as partners at the beta tier, leaving existing partners as they were', async () => {
    expect((await admin('GET')).body.partnersEnrolled).toBe(2);
    for (const referrer of [r1, r2]) {
      const p = await api.request(`/v1/partners/${referrer.tenantId}`, { key: TEST_KEYS.admin });
      expect(p.status).toBe(200);
      expect(p.body).toMatchObject({
        salesCommissionBps: 1_000,
        creditCommissionBps: 0,
        recurring: false,
        approved: true,
        approvedBy: 'launch-flip',
        status: 'active',
        payoutMethod: 'stripe',
        referralCode: expect.stringMatching(/^[2-9a-hjkmnp-z]{10}$/),
      });
    }
    expect((await api.request(`/v1/partners/${partnerTenant}`, { key: TEST_KEYS.admin })).body).toMatchObject({
      salesCommissionBps: 2_000,
      approvedBy: expect.stringMatching(/^admin-key:/),
    });
  });
});

describe('after the flip', () => {
  it("new edges are born public; an enrolled referrer's new edge earns its beta-tier rates, first payment only", async () => {
    const referee = await signup(api, { ref: r1.referralCode });
    expect(referee.body.edge.kind).toBe('intentional');
    expect(await edgeRowOf(referee.id)).toEqual({ kind: 'intentional', phase_at_write: 'public' });
    await started(referee.id);
    expect(await stateOf(referee.id)).toMatchObject({ phase: 'public', kind: 'intentional' });
    await activate(referee.id);
    expect(await pay(referee.id, 7_000)).toEqual({ status: 'earned', reason: null, cashCents: 700, credits: 0 });
    expect(await pay(referee.id, 7_000)).toEqual({
      status: 'not_eligible',
      reason: 'outside_window',
      cashCents: 0,
      credits: 0,
    });
  });

  it('an edge written after the flip from a phase read before it is born public', async () => {
    const stale = staleBetaSignup(r1);
    expect(stale.edge.kind).toBe('beta_auto');
    await insertSignup(database.db, stale.user, stale.edge);
    expect(await edgeRowOf(stale.user.id)).toEqual({ kind: 'intentional', phase_at_write: 'public' });
    await started(stale.user.id);
    expect(await stateOf(stale.user.id)).toMatchObject({ phase: 'public', kind: 'intentional' });
    // Started from the edge's row as it was born: public, intentional, the enrolled partner's.
    const search = (await edgeHandle(stale.user.id).describe()).typedSearchAttributes;
    expect([search.get(ProgramPhase), search.get(EdgeKind), search.get(PartnerId)]).toEqual([
      'public',
      'intentional',
      r1.tenantId,
    ]);
    expect((await edgeLifecycleStarts(database.db, [stale.edge.id])).get(stale.edge.id)!.args[0]).toMatchObject({
      phase: 'public',
      kind: 'intentional',
      partnerId: r1.tenantId,
    });
  });

  it('the told edges still earn the beta tier on their first payment', async () => {
    const referee = betaReferees[2]!;
    await activate(referee.id);
    expect(await pay(referee.id, 3_333)).toEqual({ status: 'earned', reason: null, cashCents: 333, credits: 0 });
  });
});
