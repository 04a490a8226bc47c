// Holds in the edge's life, on the time-skipping test server with the real activities and a real
// PostgreSQL: a held edge earns nothing (no vesting, no ladder credits, no commission) until it is
// cleared; a void ends it with nothing earned; a payment the fraud rules hold waits unpriced.
import { describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { verdictEventId, type EdgeLifecycleInput, type Verdict } from '../../domain/lifecycle.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { creditsOf, rungsReached } from '../../domain/milestones.ts';
import { partnerEarnings, userCredits } from '../../domain/ledger-postings.ts';
import { balanceOf } from '../../db/ledger.ts';
import { findPayment, insertPayment } from '../../db/payments.ts';
import { insertVerdict } from '../../db/verdicts.ts';
import { signUp } from '../../services/signups.ts';
import { approve, createPartner } from '../../services/partners.ts';
import {
  activatedSignal,
  edgeLifecycleInput,
  paymentSignal,
  stateQuery,
  verdictSignal,
} from '../../contracts/edge-lifecycle.ts';
import { referralLifecycle } from '../../workflows/referral-lifecycle.ts';
import { timeSkippingSuite, timeSkippingWorker, uniqueTaskQueue } from '../support/temporal.ts';

const suite = timeSkippingSuite((database) =>
  database.db.query(sql.unsafe`UPDATE program SET phase = 'beta', phase_changed_at = NULL`),
);

type Edge = { input: EdgeLifecycleInput; referrerId: string; tenantId: string };
let n = 0;
const stamp = () => `${Date.now().toString(36)}-${++n}`;
const signupDeps = () => ({ db: suite.database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS });
const DAY = 86_400_000;

/** A plain referral link in beta: a beta auto-enrolled edge, which moves its referrer up the ladder when it vests. */
async function betaEdge(): Promise<Edge> {
  const referrer = await signUp(signupDeps(), { email: `referrer-${stamp()}@example.com` });
  const { edge } = await signUp(signupDeps(), { email: `referee-${stamp()}@example.com`, ref: referrer.user.id });
  return { input: edgeLifecycleInput(edge!, null), referrerId: referrer.user.id, tenantId: referrer.user.tenant_id };
}

/** An approved partner's affiliate edge at 30% cash, 5% credits. */
async function partnerEdge(): Promise<Edge> {
  const owner = await signUp(signupDeps(), { email: `partner-${stamp()}@example.com` });
  const deps = { db: suite.database.db, publicBaseUrl: 'http://localhost' };
  const partner = await createPartner(deps, {
    tenantId: owner.user.tenant_id,
    salesCommissionBps: 3_000,
    creditCommissionBps: 500,
    recurring: true,
    recurringMonths: 12,
  });
  await approve(deps, owner.user.tenant_id, 'test-admin');
  const { edge } = await signUp(signupDeps(), { email: `customer-${stamp()}@example.com`, ref: partner.referral_code });
  return {
    input: edgeLifecycleInput(edge!, owner.user.tenant_id),
    referrerId: owner.user.id,
    tenantId: owner.user.tenant_id,
  };
}

const nowOnServer = async () => new Date(Number(await suite.env.currentTimeMs()));

/** A verdict recorded as the API records it, and its message delivered as the relay would. */
async function verdict(handle: WorkflowHandle, edge: Edge, id: string, v: Verdict, reason = 'review') {
  const written = await insertVerdict(suite.database.db, {
    id,
    edgeId: edge.input.edgeId,
    verdict: v,
    reason,
    decidedBy: 'admin-key:test',
  });
  expect(written?.created).toBe(true);
  await handle.signal(verdictSignal, { eventId: verdictEventId(id), verdict: v, reason });
}

async function activate(handle: WorkflowHandle, edge: Edge): Promise<string> {
  const activatedAt = (await nowOnServer()).toISOString();
  await handle.signal(activatedSignal, { eventId: `activation:${edge.input.refereeId}`, activatedAt });
  return activatedAt;
}

/** A payment recorded (with the card it was paid by) and delivered to the edge's workflow. */
async function pay(handle: WorkflowHandle, edge: Edge, paymentId: string, amountCents: number, card: string) {
  const recorded = await insertPayment(suite.database.db, {
    id: paymentId,
    userId: edge.input.refereeId,
    amountCents,
    currency: 'USD',
    paidAt: await nowOnServer(),
  });
  await seeCard(edge.input.refereeId, card, paymentId);
  await handle.signal(paymentSignal, {
    eventId: `payment:${paymentId}`,
    paymentId,
    amountCents,
    currency: 'USD',
    paidAt: recorded!.row.paid_at.toISOString(),
  });
}

/** A card seen paying: on the payment row (when it is one) and as a sighting of the user. */
async function seeCard(userId: string, card: string, paymentId: string) {
  await suite.database.db.query(sql.unsafe`
    UPDATE payments SET payment_method_fingerprint = ${card} WHERE id = ${paymentId}`);
  await suite.database.db.query(sql.unsafe`
    INSERT INTO fraud_sightings (user_id, kind, value, source) VALUES (${userId}, 'card', ${card}, ${`payment:${paymentId}`})
    ON CONFLICT DO NOTHING`);
}

const edgeRow = (edgeId: string) =>
  suite.database.db.one(
    sql.type(
      z.object({ vested_at: z.date().nullable(), voided_at: z.date().nullable(), held_at: z.date().nullable() }),
    )`SELECT vested_at, voided_at, held_at FROM edges WHERE id = ${edgeId}`,
  );

const standing = (userId: string) =>
  suite.database.db.one(sql.type(z.object({ vested_referrals: z.number(), waitlist_score: z.number() }))`
    SELECT vested_referrals, waitlist_score FROM users WHERE id = ${userId}`);

const balances = async (edge: Edge) => ({
  pending: await balanceOf(suite.database.db, partnerEarnings(edge.tenantId, 'pending')),
  payable: await balanceOf(suite.database.db, partnerEarnings(edge.tenantId, 'payable')),
  credits: await balanceOf(suite.database.db, userCredits(edge.referrerId)),
});

async function started(edge: Edge) {
  const taskQueue = uniqueTaskQueue('holds');
  const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
  return { worker, taskQueue, workflowId: `edge:${edge.input.refereeId}` };
}

describe('a held edge earns nothing until cleared', () => {
  it('held before its referee activates: activated in the window, it vests only at the clearance (ladder credits then)', async () => {
    const edge = await betaEdge();
    const { worker, taskQueue, workflowId } = await started(edge);
    const before = await standing(edge.referrerId);
    const oneVested = rungsReached(1).reduce((sum, rung) => sum + creditsOf(rung), 0);
    expect(oneVested).toBeGreaterThan(0);
    await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId,
        taskQueue,
        args: [edge.input],
      });
      await verdict(handle, edge, `h-${workflowId}`, 'hold', 'same device as the referrer');
      expect((await edgeRow(edge.input.edgeId)).held_at).not.toBeNull();
      await suite.env.sleep('2 days');
      const activatedAt = await activate(handle, edge);
      // Well past the 30-day window: activated in time, so it neither expires nor vests while held.
      await suite.env.sleep('40 days');
      expect(await handle.query(stateQuery)).toMatchObject({
        state: 'held',
        waitingFor: 'clearance',
        activatedAt,
        hold: { reason: 'same device as the referrer' },
      });
      expect(await edgeRow(edge.input.edgeId)).toMatchObject({ vested_at: null });
      expect(await standing(edge.referrerId)).toEqual(before);
      expect((await balances(edge)).credits).toBe(0);

      await verdict(handle, edge, `c-${workflowId}`, 'clear', 'the referee is a different person');
      await suite.env.sleep('1 hour');
      const cleared = await nowOnServer();
      expect(await handle.query(stateQuery)).toMatchObject({
        state: 'awaiting_first_payment',
        waitingFor: 'first_payment',
        hold: null,
        activatedAt,
      });
      const row = await edgeRow(edge.input.edgeId);
      expect(row.held_at).toBeNull();
      // Vested at the clearance, not at the activation 40 days before it.
      expect(row.vested_at!.getTime()).toBeGreaterThan(Date.parse(activatedAt) + 40 * DAY);
      expect(row.vested_at!.getTime()).toBeLessThanOrEqual(cleared.getTime());
      expect(await standing(edge.referrerId)).toMatchObject({ vested_referrals: 1 });
      expect((await balances(edge)).credits).toBe(oneVested);
    });
  });

  it('held, activated, then voided: it ends voided, never vested, and earned nothing', async () => {
    const edge = await partnerEdge();
    const { worker, taskQueue, workflowId } = await started(edge);
    const result = await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId,
        taskQueue,
        args: [edge.input],
      });
      await verdict(handle, edge, `h-${workflowId}`, 'hold');
      await activate(handle, edge);
      await pay(handle, edge, `${workflowId}-p1`, 10_000, 'card-of-the-customer');
      await suite.env.sleep('3 days');
      expect(await findPayment(suite.database.db, `${workflowId}-p1`)).toMatchObject({ commission_status: 'pending' });
      await verdict(handle, edge, `v-${workflowId}`, 'void', 'fraud ring');
      return handle.result();
    });
    expect(result).toMatchObject({
      state: 'voided',
      hold: null,
      earned: { cashCents: 0, credits: 0, pendingCents: 0, payableCents: 0 },
    });
    expect(await edgeRow(edge.input.edgeId)).toMatchObject({ vested_at: null, held_at: null });
    expect((await edgeRow(edge.input.edgeId)).voided_at).not.toBeNull();
    expect(await findPayment(suite.database.db, `${workflowId}-p1`)).toMatchObject({
      commission_status: 'not_eligible',
      commission_reason: 'edge_voided',
    });
    expect(await balances(edge)).toEqual({ pending: 0, payable: 0, credits: 0 });
    expect(await standing(edge.referrerId)).toMatchObject({ vested_referrals: 0 });
  });

  it('held and never activated: the window still ends it, expired and no longer held', async () => {
    const edge = await betaEdge();
    const { worker, taskQueue, workflowId } = await started(edge);
    const result = await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId,
        taskQueue,
        args: [edge.input],
      });
      await verdict(handle, edge, `h-${workflowId}`, 'hold');
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'expired', hold: null, waitingFor: null });
    const description = await suite.env.client.workflow.getHandle(workflowId).describe();
    expect(description.searchAttributes.LifecycleState).toEqual(['expired']);
  });

  it("a payment the fraud rules hold (the referrer's own card) waits unpriced with every later one until the hold is cleared", async () => {
    const edge = await partnerEdge();
    const { worker, taskQueue, workflowId } = await started(edge);
    // The referrer once paid with this card.
    const own = await insertPayment(suite.database.db, {
      id: `${workflowId}-referrer`,
      userId: edge.referrerId,
      amountCents: 2_000,
      currency: 'USD',
      paidAt: new Date(),
    });
    expect(own?.created).toBe(true);
    await seeCard(edge.referrerId, 'card-of-the-referrer', `${workflowId}-referrer`);
    const [p1, p2, p3] = ['p1', 'p2', 'p3'].map((p) => `${workflowId}-${p}`);
    const holdId = `fraud:payment:${edge.input.edgeId}:${p2}`;
    await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId,
        taskQueue,
        args: [edge.input],
      });
      await activate(handle, edge);
      await pay(handle, edge, p1!, 10_000, 'card-of-the-customer');
      await suite.env.sleep('1 day');
      expect(await findPayment(suite.database.db, p1!)).toMatchObject({ commission_status: 'earned' });

      await pay(handle, edge, p2!, 10_000, 'card-of-the-referrer');
      await suite.env.sleep('1 day');
      await pay(handle, edge, p3!, 10_000, 'card-of-the-customer');
      await suite.env.sleep('40 days');
      expect(await handle.query(stateQuery)).toMatchObject({
        state: 'held',
        waitingFor: 'clearance',
        hold: { reason: expect.any(String) },
        earned: { cashCents: 3_000, pendingCents: 3_000, payableCents: 0 },
      });
      expect(await findPayment(suite.database.db, p2!)).toMatchObject({ commission_status: 'pending' });
      expect(await findPayment(suite.database.db, p3!)).toMatchObject({ commission_status: 'pending' });
      expect((await edgeRow(edge.input.edgeId)).held_at).not.toBeNull();
      const hold = await suite.database.db.one(sql.type(z.object({ verdict: z.string(), edge_id: z.uuid() }))`
        SELECT verdict, edge_id FROM edge_verdicts WHERE id = ${holdId}`);
      expect(hold).toEqual({ verdict: 'hold', edge_id: edge.input.edgeId });

      await verdict(handle, edge, `c-${workflowId}`, 'clear', 'a family card');
      // The hold's own message, delivered by the relay after the workflow applied it, is a repeat.
      await handle.signal(verdictSignal, { eventId: verdictEventId(holdId), verdict: 'hold', reason: 'late' });
      await suite.env.sleep('1 day');
      expect(await handle.query(stateQuery)).toMatchObject({
        state: 'earning',
        hold: null,
        payments: { earning: 3, notEligible: 0 },
        earned: { cashCents: 9_000 },
      });
    });
    expect(await findPayment(suite.database.db, p2!)).toMatchObject({ commission_status: 'earned' });
    expect(await findPayment(suite.database.db, p3!)).toMatchObject({ commission_status: 'earned' });
    expect((await edgeRow(edge.input.edgeId)).held_at).toBeNull();
  });
});
