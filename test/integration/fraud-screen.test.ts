// screenEdge against the real database: signups, activations and payments write their signals;
// the activity gathers the facts, runs the stage's rules, stores every verdict and, on a hold or a
// block, one edge verdict with the message for the edge's workflow. A retry answers the same and
// writes nothing twice.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createFraudActivities, type ScreenInput } from '../../activities/fraud.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { DEFAULT_FRAUD_SETTINGS } from '../../domain/fraud/settings.ts';
import { gatherFacts } from '../../db/fraud.ts';
import { markActivated } from '../../db/users.ts';
import { recordPayment } from '../../services/payments.ts';
import { signUp, type SignupInput } from '../../services/signups.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let screenEdge: ReturnType<typeof createFraudActivities>['screenEdge'];

beforeAll(async () => {
  database = await createTestDatabase();
  ({ screenEdge } = createFraudActivities({ db: database.db }));
});
afterAll(async () => {
  await database?.drop();
});

let n = 0;
const email = (label: string, domain = 'example.com') => `${label}-${Date.now().toString(36)}-${++n}@${domain}`;
const deps = () => ({ db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS });
const person = (input: Partial<SignupInput> = {}) => signUp(deps(), { email: email('user'), ...input });

/** A referrer and a referee they brought; the referee's signup with the given signals. */
async function referral(
  referrer: Partial<SignupInput> = {},
  referee: Partial<SignupInput> = {},
): Promise<{ referrerId: string; refereeId: string; edgeId: string }> {
  const r = await person(referrer);
  const e = await person({ ...referee, ref: r.user.id });
  return { referrerId: r.user.id, refereeId: e.user.id, edgeId: e.edge!.id };
}

const counts = (edgeId: string) =>
  database.db.one(sql.type(z.object({ rules: z.number(), verdicts: z.number(), messages: z.number() }))`
    SELECT (SELECT count(*)::int FROM fraud_rule_verdicts WHERE edge_id = ${edgeId}) AS rules,
           (SELECT count(*)::int FROM edge_verdicts WHERE edge_id = ${edgeId}) AS verdicts,
           (SELECT count(*)::int FROM workflow_outbox WHERE subject_id = ${edgeId} AND signal_name IS NOT NULL) AS messages`);

const edgeVerdict = (id: string) =>
  database.db.maybeOne(
    sql.type(
      z.object({
        verdict: z.string(),
        reason: z.string(),
        decided_by: z.string(),
        rule: z.string().nullable(),
        score: z.number().nullable(),
        evidence: z.any(),
      }),
    )`SELECT verdict, reason, decided_by, rule, score, evidence FROM edge_verdicts WHERE id = ${id}`,
  );

describe('screenEdge at the edge write', () => {
  it("holds a referee who signed up on the referrer's device, storing every rule's verdict and one hold", async () => {
    const { edgeId } = await referral(
      { deviceId: 'dev-shared', ip: '203.0.113.7' },
      { deviceId: 'dev-shared', ip: '198.51.100.20' },
    );
    const input: ScreenInput = { edgeId, stage: 'edge_write' };
    const result = await screenEdge(input);
    expect(result).toMatchObject({
      decision: 'hold',
      rules: ['device-overlap'],
      verdictId: `fraud:edge_write:${edgeId}:`,
    });
    expect(result.reason).toContain("referrer's device");
    const verdict = await edgeVerdict(result.verdictId!);
    expect(verdict).toMatchObject({ verdict: 'hold', decided_by: 'fraud:device-overlap', rule: 'device-overlap' });
    expect(verdict!.evidence).toMatchObject({
      stage: 'edge_write',
      rules: { 'device-overlap': { decision: 'hold', evidence: { devices: ['dev-shared'] } } },
    });
    // Nine edge-write rules, each stored; one verdict and one message for the edge's workflow.
    expect(await counts(edgeId)).toEqual({ rules: 9, verdicts: 1, messages: 1 });

    // A retry (the activity retried after a crash, or screened twice) answers the same and writes nothing.
    expect(await screenEdge(input)).toEqual(result);
    expect(await counts(edgeId)).toEqual({ rules: 9, verdicts: 1, messages: 1 });
  });

  it('blocks a referee on a disposable email domain: the edge is voided', async () => {
    const { edgeId } = await referral({}, { email: email('throwaway', 'mailinator.com') });
    const result = await screenEdge({ edgeId, stage: 'edge_write' });
    expect(result).toMatchObject({ decision: 'block', rules: ['disposable-email'] });
    expect(await edgeVerdict(result.verdictId!)).toMatchObject({
      verdict: 'void',
      decided_by: 'fraud:disposable-email',
    });
  });

  it('allows an honest referral and writes no edge verdict', async () => {
    const { edgeId } = await referral({ deviceId: 'dev-a', ip: '203.0.113.30' }, { deviceId: 'dev-b', ip: '8.8.8.8' });
    expect(await screenEdge({ edgeId, stage: 'edge_write' })).toEqual({
      decision: 'allow',
      score: 0,
      reason: 'No rule fired.',
      rules: [],
      verdictId: null,
    });
    expect(await counts(edgeId)).toEqual({ rules: 9, verdicts: 0, messages: 0 });
  });

  it('scores, never holds, a family of referees behind one home address, each on their own device', async () => {
    const home = '198.51.100.77';
    const parent = await person({ deviceId: 'dev-parent', ip: home });
    const kids = [];
    for (const device of ['dev-kid-1', 'dev-kid-2', 'dev-kid-3', 'dev-partner'])
      kids.push(await person({ ref: parent.user.id, deviceId: device, ip: home }));
    const last = await screenEdge({ edgeId: kids.at(-1)!.edge!.id, stage: 'edge_write' });
    expect(last.decision).toBe('score');
    expect(last.rules.sort()).toEqual(['ip-overlap', 'shared-ip-referees']);
    expect(last.verdictId).toBeNull();
  });

  it('reads its facts from the signals the signup wrote', async () => {
    const { edgeId, referrerId } = await referral(
      { deviceId: 'dev-f1', ip: '1.1.1.1' },
      { deviceId: 'dev-f2', ip: '::ffff:1.1.1.1' },
    );
    const facts = (await gatherFacts(database.db, edgeId, 'edge_write'))!;
    expect(facts.referrer).toMatchObject({
      id: referrerId,
      isPartner: false,
      signals: { device: ['dev-f1'], ip: ['1.1.1.1'], network: ['AS13335'], card: [] },
    });
    expect(facts.referee).toMatchObject({ signupIp: '1.1.1.1', signupNetwork: 'AS13335' });
    expect(facts.referrerEdges).toEqual({ hour: 1, day: 1 });
    expect(facts.crowd.ip!.hour).toBeGreaterThanOrEqual(2);
    expect(facts.payment).toBeNull();
    expect(await gatherFacts(database.db, '00000000-0000-4000-8000-000000000000', 'edge_write')).toBeNull();
  });
});

describe('screenEdge at activation', () => {
  it("holds a referee who built their app on the referrer's device within seconds of signing up", async () => {
    const { edgeId, refereeId } = await referral(
      { deviceId: 'dev-owner', ip: '203.0.113.50' },
      { deviceId: 'dev-new' },
    );
    await markActivated(database.db, refereeId, [{ kind: 'device', value: 'dev-owner' }]);
    const result = await screenEdge({ edgeId, stage: 'activation' });
    expect(result).toMatchObject({
      decision: 'hold',
      verdictId: `fraud:activation:${edgeId}:`,
    });
    expect(result.rules.sort()).toEqual(['device-overlap', 'quick-activation']);
  });
});

describe('screenEdge at payment', () => {
  const pay = (userId: string, paymentId: string, card: string) =>
    recordPayment(
      { db: database.db },
      { paymentId, userId, amountCents: 4_999, currency: 'USD', paymentMethodFingerprint: card },
    );

  it("holds a payment made with the referrer's card, once per payment", async () => {
    const { edgeId, referrerId, refereeId } = await referral();
    await pay(referrerId, `ch_own_${n}`, 'card-owner');
    const paymentId = `ch_self_${n}`;
    await pay(refereeId, paymentId, 'card-owner');
    const input: ScreenInput = { edgeId, stage: 'payment', subject: paymentId };
    const result = await screenEdge(input);
    expect(result).toMatchObject({
      decision: 'hold',
      rules: ['card-overlap'],
      verdictId: `fraud:payment:${edgeId}:${paymentId}`,
    });
    expect(await screenEdge(input)).toEqual(result);
    expect(await counts(edgeId)).toEqual({ rules: 2, verdicts: 1, messages: 2 }); // the payment's message, the hold's
  });

  it('allows a customer paying with their own card', async () => {
    const { edgeId, referrerId, refereeId } = await referral();
    await pay(referrerId, `ch_r_${n}`, 'card-referrer');
    const paymentId = `ch_c_${n}`;
    await pay(refereeId, paymentId, 'card-customer');
    expect(await screenEdge({ edgeId, stage: 'payment', subject: paymentId })).toMatchObject({
      decision: 'allow',
      verdictId: null,
    });
  });

  it('fails, without retrying, for a payment that is not on the edge', async () => {
    const { edgeId } = await referral();
    await expect(screenEdge({ edgeId, stage: 'payment', subject: 'ch_nowhere' })).rejects.toMatchObject({
      type: 'PaymentNotRecorded',
      nonRetryable: true,
    });
    await expect(
      screenEdge({ edgeId: '00000000-0000-4000-8000-000000000000', stage: 'edge_write' }),
    ).rejects.toMatchObject({ type: 'EdgeNotFound', nonRetryable: true });
  });
});

describe('FRAUD_RULES=off', () => {
  it('records no signals with a signup or a payment (the payment keeps its fingerprint)', async () => {
    const off = { enabled: false };
    const user = await signUp({ ...deps(), fraud: off }, { email: email('off'), deviceId: 'dev-off', ip: '1.1.1.1' });
    const paymentId = `ch_off_${n}`;
    const { view } = await recordPayment(
      { db: database.db, fraud: off },
      { paymentId, userId: user.user.id, amountCents: 100, currency: 'USD', paymentMethodFingerprint: 'card-off' },
    );
    expect(view.payment.payment_method_fingerprint).toBe('card-off');
    const sightings = await database.db.oneFirst(
      sql.type(
        z.object({ n: z.number() }),
      )`SELECT count(*)::int AS n FROM fraud_sightings WHERE user_id = ${user.user.id}`,
    );
    expect(sightings).toBe(0);
  });

  it('answers allow and stores nothing', async () => {
    const off = createFraudActivities({ db: database.db, settings: { ...DEFAULT_FRAUD_SETTINGS, enabled: false } });
    const { edgeId } = await referral({ deviceId: 'dev-same' }, { deviceId: 'dev-same' });
    expect(await off.screenEdge({ edgeId, stage: 'edge_write' })).toMatchObject({ decision: 'allow', rules: [] });
    expect(await counts(edgeId)).toEqual({ rules: 0, verdicts: 0, messages: 0 });
  });
});
