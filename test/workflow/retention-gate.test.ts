// Hole 7 of issue 14 on the time-skipping test server, with the real activities and PostgreSQL: the
// beta "retention gate" was only a longer hold, so a referee who cancelled before it still paid
// out. Now, at the gate, a beta-seeded commission is released only if the referee had not
// cancelled, refunded or charged back (any of their payments) by then; otherwise it is forfeited:
// taken back in the ledger once (forfeit:<paymentId>), the payment and the edge's view say why.
import { describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import type { EdgeLifecycleInput } from '../../domain/lifecycle.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { balanceOf } from '../../db/ledger.ts';
import { partnerEarnings } from '../../domain/ledger-postings.ts';
import { findPayment, insertPayment } from '../../db/payments.ts';
import { insertRefund } from '../../db/refunds.ts';
import { recordCancellation } from '../../services/cancellations.ts';
import { approve, createPartner } from '../../services/partners.ts';
import { signUp } from '../../services/signups.ts';
import { edgeLifecycleInput } from '../../contracts/edge-lifecycle.ts';
import { referralLifecycle } from '../../workflows/referral-lifecycle.ts';
import {
  activatedSignal,
  paymentSignal,
  phaseChangedSignal,
  refundSignal,
  stateQuery,
} from '../../contracts/edge-lifecycle.ts';
import { timeSkippingSuite, timeSkippingWorker, uniqueTaskQueue } from '../support/temporal.ts';

// A fresh test server per test, and the program public (beta edges earn cash only after the flip).
const suite = timeSkippingSuite((database) =>
  database.db.query(sql.unsafe`UPDATE program SET phase = 'public', phase_changed_at = now()`),
);

type Edge = { input: EdgeLifecycleInput; tenantId: string };
let n = 0;
const stamp = () => `${Date.now().toString(36)}-${++n}`;
const signupDeps = () => ({ db: suite.database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS });
const nowOnServer = async () => new Date(Number(await suite.env.currentTimeMs()));

/** A beta auto-enrolled edge written in beta; the program has since gone public. */
async function betaEdge(): Promise<Edge> {
  await suite.database.db.query(sql.unsafe`UPDATE program SET phase = 'beta'`);
  const referrer = await signUp(signupDeps(), { email: `referrer-${stamp()}@example.com` });
  const { edge } = await signUp(signupDeps(), { email: `referee-${stamp()}@example.com`, ref: referrer.user.id });
  await suite.database.db.query(sql.unsafe`UPDATE program SET phase = 'public'`);
  expect(edge!.kind).toBe('beta_auto');
  return { input: edgeLifecycleInput(edge!, null), tenantId: referrer.user.tenant_id };
}

/** An approved partner's affiliate edge: not beta-seeded, so no retention gate. */
async function partnerEdge(): Promise<Edge> {
  const owner = await signUp(signupDeps(), { email: `partner-${stamp()}@example.com` });
  const deps = { db: suite.database.db, publicBaseUrl: 'http://localhost' };
  const partner = await createPartner(deps, { tenantId: owner.user.tenant_id, creditCommissionBps: 0 });
  await approve(deps, owner.user.tenant_id, 'test-admin');
  const { edge } = await signUp(signupDeps(), { email: `customer-${stamp()}@example.com`, ref: partner.referral_code });
  expect(edge!.kind).toBe('intentional');
  return { input: edgeLifecycleInput(edge!, owner.user.tenant_id), tenantId: owner.user.tenant_id };
}

async function pay(handle: WorkflowHandle, edge: Edge, paymentId: string, amountCents: number): Promise<void> {
  const recorded = await insertPayment(suite.database.db, {
    id: paymentId,
    userId: edge.input.refereeId,
    amountCents,
    currency: 'USD',
    paidAt: await nowOnServer(),
  });
  await handle.signal(paymentSignal, {
    eventId: `payment:${paymentId}`,
    paymentId,
    amountCents,
    currency: 'USD',
    paidAt: recorded!.row.paid_at.toISOString(),
  });
}

/** A refund (or chargeback) recorded as the API does, delivered as the relay would. */
async function refund(
  handle: WorkflowHandle,
  refundId: string,
  paymentId: string,
  amountCents: number,
  chargeback = false,
) {
  const refundedAt = await nowOnServer();
  expect(
    (await insertRefund(suite.database.db, { id: refundId, paymentId, amountCents, refundedAt, chargeback })).kind,
  ).toBe('created');
  await handle.signal(refundSignal, {
    eventId: `refund:${refundId}`,
    refundId,
    paymentId,
    amountCents,
    refundedAt: refundedAt.toISOString(),
  });
}

/** The referee cancels now (server time): what POST /v1/cancellations records. */
const cancel = async (edge: Edge) =>
  recordCancellation(
    { db: suite.database.db },
    { cancellationId: `cancel-${stamp()}`, userId: edge.input.refereeId, cancelledAt: await nowOnServer() },
  );

async function startVested(edge: Edge, taskQueue: string): Promise<WorkflowHandle<typeof referralLifecycle>> {
  const handle = await suite.env.client.workflow.start(referralLifecycle, {
    workflowId: `edge:${edge.input.refereeId}`,
    taskQueue,
    args: [edge.input],
  });
  await handle.signal(activatedSignal, {
    eventId: `activation:${edge.input.refereeId}`,
    activatedAt: (await nowOnServer()).toISOString(),
  });
  await handle.signal(phaseChangedSignal, {
    eventId: 'phase:public',
    phase: 'public',
    changedAt: (await nowOnServer()).toISOString(),
  });
  return handle;
}

const money = async (edge: Edge) => ({
  pending: await balanceOf(suite.database.db, partnerEarnings(edge.tenantId, 'pending')),
  payable: await balanceOf(suite.database.db, partnerEarnings(edge.tenantId, 'payable')),
});
// The commission's own transactions on the edge (the referee's signup grant through the link is apart).
const transactions = (edgeId: string) =>
  suite.database.db.anyFirst(sql.type(z.object({ idempotency_key: z.string() }))`
    SELECT idempotency_key FROM ledger_transactions
    WHERE metadata ->> 'edgeId' = ${edgeId} AND kind <> 'link_invitee_credits' ORDER BY created_at, idempotency_key`);

describe('hole 7: the retention gate of a beta-seeded commission', () => {
  it('forfeits the commission of a referee who cancelled before the gate: taken back once, the edge and payment say why', async () => {
    const edge = await betaEdge();
    const taskQueue = uniqueTaskQueue('gate');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const paymentId = `gate-${stamp()}`;
    const view = await worker.runUntil(async () => {
      const handle = await startVested(edge, taskQueue);
      await pay(handle, edge, paymentId, 10_000);
      await suite.env.sleep('10 days');
      expect(await money(edge)).toEqual({ pending: 1_000, payable: 0 });
      await cancel(edge);
      await suite.env.sleep('55 days'); // past the 60-day gate (and the 30-day holding period)
      const atGate = await handle.query(stateQuery);
      // A refund of the forfeited payment after the gate has nothing left to take.
      await refund(handle, `${paymentId}-r`, paymentId, 4_000);
      await suite.env.sleep('1 day');
      expect(await handle.query(stateQuery)).toMatchObject({ earned: atGate.earned });
      return atGate;
    });
    expect(view).toMatchObject({
      earned: { cashCents: 0, pendingCents: 0, payableCents: 0 },
      forfeited: [{ paymentId, reason: 'referee_cancelled', gateAt: expect.any(String) }],
    });
    expect(await money(edge)).toEqual({ pending: 0, payable: 0 });
    expect(await transactions(edge.input.edgeId)).toEqual([`commission:${paymentId}`, `forfeit:${paymentId}`]);
    expect(await findPayment(suite.database.db, paymentId)).toMatchObject({
      commission_status: 'forfeited',
      commission_reason: 'referee_cancelled',
    });
  });

  it('releases it when the referee is still there at the gate; a cancellation after the gate changes nothing', async () => {
    const edge = await betaEdge();
    const taskQueue = uniqueTaskQueue('gate');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const paymentId = `kept-${stamp()}`;
    const view = await worker.runUntil(async () => {
      const handle = await startVested(edge, taskQueue);
      await pay(handle, edge, paymentId, 10_000);
      await suite.env.sleep('59 days');
      expect(await money(edge)).toEqual({ pending: 1_000, payable: 0 });
      await suite.env.sleep('2 days');
      await cancel(edge);
      await suite.env.sleep('1 day');
      return handle.query(stateQuery);
    });
    expect(view).toMatchObject({ earned: { cashCents: 1_000, pendingCents: 0, payableCents: 1_000 } });
    expect(view.forfeited).toBeUndefined();
    expect(await money(edge)).toEqual({ pending: 0, payable: 1_000 });
    expect(await transactions(edge.input.edgeId)).toEqual([`commission:${paymentId}`, `release:${paymentId}`]);
  });

  it('forfeits it when the referee charged back another payment before the gate', async () => {
    const edge = await betaEdge();
    const taskQueue = uniqueTaskQueue('gate');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const first = `first-${stamp()}`;
    const second = `second-${stamp()}`;
    const view = await worker.runUntil(async () => {
      const handle = await startVested(edge, taskQueue);
      await pay(handle, edge, first, 10_000);
      await suite.env.sleep('20 days');
      await pay(handle, edge, second, 5_000); // first payment only: this one earns nothing
      await suite.env.sleep('1 day');
      await refund(handle, `${second}-cb`, second, 5_000, true);
      await suite.env.sleep('45 days');
      return handle.query(stateQuery);
    });
    expect(view.forfeited).toEqual([{ paymentId: first, reason: 'referee_charged_back', gateAt: expect.any(String) }]);
    expect(await money(edge)).toEqual({ pending: 0, payable: 0 });
    expect(await findPayment(suite.database.db, first)).toMatchObject({
      commission_status: 'forfeited',
      commission_reason: 'referee_charged_back',
    });
  });

  it("leaves a partner's affiliate edge alone: no gate, released after the holding period", async () => {
    const edge = await partnerEdge();
    const taskQueue = uniqueTaskQueue('gate');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    await worker.runUntil(async () => {
      const handle = await startVested(edge, taskQueue);
      await pay(handle, edge, `partner-${stamp()}`, 10_000);
      await suite.env.sleep('1 day');
      await cancel(edge);
      await suite.env.sleep('31 days');
    });
    expect(await money(edge)).toEqual({ pending: 0, payable: 2_000 });
  });
});
