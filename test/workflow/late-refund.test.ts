// Late refunds (issue 17, item 11) on the time-skipping test server with the real activities, the
// real outbox relay and the API over a real PostgreSQL: an edge earns, completes and closes (its
// refund window of 180 days passes in seconds), a refund arrives after that, and it still takes
// back what its payment earned, also after payout: once, however often the refund is posted.
import { describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { partnerEarnings, partnerWhopEarnings, payoutPosting, userCredits } from '../../domain/ledger-postings.ts';
import { decidePayout } from '../../domain/payouts.ts';
import { balanceOf, postTransaction } from '../../db/ledger.ts';
import { insertPayment } from '../../db/payments.ts';
import { insertRefund } from '../../db/refunds.ts';
import { signUp } from '../../services/signups.ts';
import { approve, createPartner } from '../../services/partners.ts';
import { createLateRefundActivities } from '../../activities/late-refund.ts';
import {
  activatedSignal,
  edgeLifecycleInput,
  edgeWorkflowId,
  paymentSignal,
  refundSignal,
} from '../../contracts/edge-lifecycle.ts';
import { lateRefundWorkflowId, REFUND_SUBJECT, type LateRefundOutcome } from '../../contracts/late-refund.ts';
import { referralLifecycle } from '../../workflows/referral-lifecycle.ts';
import { createLogger } from '../../platform/logger.ts';
import { startWorkflowStarter } from '../../workers/workflow-starter.ts';
import { startTestApi, testConfig, TEST_KEYS } from '../support/app.ts';
import { eventually, timeSkippingSuite, timeSkippingWorker, uniqueTaskQueue } from '../support/temporal.ts';

const suite = timeSkippingSuite((database) =>
  database.db.query(sql.unsafe`UPDATE program SET phase = 'beta', phase_changed_at = NULL`),
);
const db = () => suite.database.db;

let n = 0;
const stamp = () => `${Date.now().toString(36)}-${++n}`;
const nowOnServer = async () => new Date(Number(await suite.env.currentTimeMs()));

/** An approved partner at 20% cash and 5% credits on the first payment only, and a customer it referred. */
async function partnerEdge() {
  const signupDeps = { db: db(), activationWindowDays: 30, flavors: DEFAULT_FLAVORS };
  const owner = await signUp(signupDeps, { email: `partner-${stamp()}@example.com` });
  const deps = { db: db(), publicBaseUrl: 'http://localhost' };
  const partner = await createPartner(deps, {
    tenantId: owner.user.tenant_id,
    salesCommissionBps: 2_000,
    creditCommissionBps: 500,
    recurring: false,
  });
  await approve(deps, owner.user.tenant_id, 'test-admin');
  const { edge } = await signUp(signupDeps, { email: `customer-${stamp()}@example.com`, ref: partner.referral_code });
  return {
    input: edgeLifecycleInput(edge!, owner.user.tenant_id),
    referrerId: owner.user.id,
    tenantId: owner.user.tenant_id,
  };
}
type Edge = Awaited<ReturnType<typeof partnerEdge>>;

/** The edge's workflow from activation to a payment of 10,000 cents, run until it completes and closes. */
async function earnAndClose(
  edge: Edge,
  taskQueue: string,
  paymentId: string,
  meanwhile?: (h: WorkflowHandle) => Promise<void>,
  rail: 'ours' | 'whop' = 'ours',
) {
  const handle = await suite.env.client.workflow.start(referralLifecycle, {
    workflowId: edgeWorkflowId(edge.input.refereeId),
    taskQueue,
    args: [edge.input],
  });
  await handle.signal(activatedSignal, {
    eventId: `activation:${edge.input.refereeId}`,
    activatedAt: (await nowOnServer()).toISOString(),
  });
  const paid = await insertPayment(db(), {
    id: paymentId,
    userId: edge.input.refereeId,
    amountCents: 10_000,
    currency: 'USD',
    paidAt: await nowOnServer(),
  });
  // A payment through Whop (db/whop.ts ingestWhopPayment): Whop pays its commission, mirrored on earnings_whop.
  if (rail === 'whop') await db().query(sql.unsafe`UPDATE payments SET rail = 'whop' WHERE id = ${paymentId}`);
  await handle.signal(paymentSignal, {
    eventId: `payment:${paymentId}`,
    paymentId,
    amountCents: 10_000,
    currency: 'USD',
    paidAt: paid!.row.paid_at.toISOString(),
  });
  await meanwhile?.(handle);
  const view = await handle.result();
  expect((await handle.describe()).status.name).toBe('COMPLETED');
  return view;
}

const balances = async (edge: Edge) => ({
  pending: await balanceOf(db(), partnerEarnings(edge.tenantId, 'pending')),
  payable: await balanceOf(db(), partnerEarnings(edge.tenantId, 'payable')),
  paid: await balanceOf(db(), partnerEarnings(edge.tenantId, 'paid')),
  credits: await balanceOf(db(), userCredits(edge.referrerId)),
});
const clawbacksOf = (paymentId: string) =>
  db().any(sql.type(z.object({ idempotency_key: z.string() }))`
    SELECT idempotency_key FROM ledger_transactions WHERE kind = 'clawback' AND metadata ->> 'paymentId' = ${paymentId} ORDER BY idempotency_key`);
/** The late refunds the outbox holds for refunds of this payment. */
const lateStarts = (paymentId: string) =>
  db().anyFirst(sql.type(z.object({ subject_id: z.string() }))`
    SELECT o.subject_id FROM workflow_outbox o JOIN refunds r ON r.id = o.subject_id
    WHERE o.subject = ${REFUND_SUBJECT} AND r.payment_id = ${paymentId} ORDER BY o.subject_id`);
const outcomeOf = (refundId: string) =>
  db().maybeOneFirst(sql.type(z.object({ outcome: z.string().nullable() }))`
    SELECT outcome FROM workflow_outbox WHERE message_key = ${`refund:${refundId}`}`);

/** The relay, on the test server, while `work` runs. */
async function withRelay<T>(taskQueue: string, work: () => Promise<T>): Promise<T> {
  const starter = startWorkflowStarter({
    db: db(),
    databaseUrl: suite.database.url,
    client: suite.env.client,
    taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs: 100,
  });
  try {
    return await work();
  } finally {
    await starter.stop();
  }
}

describe('a refund after the edge closed', () => {
  it('takes back what its payment earned from the paid-out balance, which goes negative and rolls forward; posted twice, it takes back once', async () => {
    const edge = await partnerEdge();
    const taskQueue = uniqueTaskQueue('late');
    const worker = await timeSkippingWorker(suite.env, db(), taskQueue);
    const paymentId = `pay-${stamp()}`;
    const refundId = `ref-${stamp()}`;
    const api = await startTestApi({
      config: testConfig(suite.database.url, { TEMPORAL_TASK_QUEUE: taskQueue }),
      db: db(),
      temporal: suite.env.client,
    });
    try {
      const outcome = await worker.runUntil(async () => {
        // 10,000 at 20% and 5%: 2,000 cents and 500 credits, released after 30 days; the edge closes
        // 180 days after the payment, then the partner is paid the 2,000.
        const view = await earnAndClose(edge, taskQueue, paymentId);
        expect(view).toMatchObject({ state: 'completed', earned: { cashCents: 2_000, payableCents: 2_000 } });
        await postTransaction(
          db(),
          payoutPosting({ payoutId: `payout-${stamp()}`, tenantId: edge.tenantId, amountCents: 2_000 })!,
        );
        expect(await balances(edge)).toEqual({ pending: 0, payable: 0, paid: 2_000, credits: 500 });
        expect(await lateStarts(paymentId)).toEqual([]); // nothing was waiting when it closed

        // Now 4,000 of the payment comes back, and the billing system sends it twice.
        const body = { refundId, paymentId, amountCents: 4_000 };
        const first = await api.request('/v1/refunds', { key: TEST_KEYS.server, json: body });
        const again = await api.request('/v1/refunds', { key: TEST_KEYS.server, json: body });
        expect([first.status, again.status]).toEqual([201, 200]);
        expect(await lateStarts(paymentId)).toEqual([refundId]);
        expect(await outcomeOf(refundId)).toBeNull(); // no message to the ended workflow

        return withRelay(taskQueue, () =>
          eventually(async () => {
            const handle = suite.env.client.workflow.getHandle(lateRefundWorkflowId(refundId));
            const { status } = await handle.describe();
            return status.name === 'COMPLETED' ? ((await handle.result()) as LateRefundOutcome) : undefined;
          }),
        );
      });

      // 6,000 kept: floor(6,000 x 20%) = 1,200 and 300 credits, so 800 and 200 come back, out of payable.
      expect(outcome).toEqual({
        refundId,
        paymentId,
        outcome: 'taken_back',
        takenBack: { cash: 800, credits: 200 },
        from: 'payable',
      });
      expect(await clawbacksOf(paymentId)).toEqual([{ idempotency_key: `clawback:${refundId}` }]);
      expect(await balances(edge)).toEqual({ pending: 0, payable: -800, paid: 2_000, credits: 300 });
      const payment = await api.request(`/v1/payments/${paymentId}`, { key: TEST_KEYS.server });
      expect(payment.body).toMatchObject({ refundedCents: 4_000, commission: { cashCents: 1_200, credits: 300 } });
      const partner = await api.request(`/v1/partners/${edge.tenantId}`, { key: TEST_KEYS.admin });
      expect(partner.body.stats).toMatchObject({ totalEarningsCents: 1_200 });
      // The next cycle pays nothing: the negative balance rolls forward until later earnings net it off.
      expect(
        decidePayout({
          method: 'manual',
          thresholdCents: 0,
          payableCents: await balanceOf(db(), partnerEarnings(edge.tenantId, 'payable')),
          inFlightCents: 0,
          stripeAccountId: null,
          stripeAccountStatus: 'none',
          thisPeriod: null,
        }),
      ).toEqual({ action: 'roll_forward', reason: 'negative_balance', availableCents: -800 });

      // Run again (a retry, a second start): it finds its clawback and takes back nothing more.
      const rerun = await createLateRefundActivities({ db: db() }).takeBackLateRefund({ refundId });
      expect(rerun).toMatchObject({ outcome: 'already_taken_back', takenBack: { cash: 0, credits: 0 } });
      expect(await clawbacksOf(paymentId)).toHaveLength(1);
      expect(await balances(edge)).toEqual({ pending: 0, payable: -800, paid: 2_000, credits: 300 });
    } finally {
      await api.close();
    }
  });

  it("a Whop payment's late refund takes back from earnings_whop, never from our pending or payable", async () => {
    const edge = await partnerEdge();
    const taskQueue = uniqueTaskQueue('late-whop');
    const worker = await timeSkippingWorker(suite.env, db(), taskQueue);
    const paymentId = `pay-${stamp()}`;
    const refundId = `ref-${stamp()}`;
    const api = await startTestApi({
      config: testConfig(suite.database.url, { TEMPORAL_TASK_QUEUE: taskQueue }),
      db: db(),
      temporal: suite.env.client,
    });
    const whopBalance = () => balanceOf(db(), partnerWhopEarnings(edge.tenantId));
    try {
      const outcome = await worker.runUntil(async () => {
        // 10,000 at 20% on the whop rail: 2,000 mirrored on earnings_whop, nothing ever pending or payable.
        const view = await earnAndClose(edge, taskQueue, paymentId, undefined, 'whop');
        expect(view).toMatchObject({ state: 'completed' });
        expect(await whopBalance()).toBe(2_000);
        expect(await balances(edge)).toEqual({ pending: 0, payable: 0, paid: 0, credits: 500 });

        const body = { refundId, paymentId, amountCents: 4_000 };
        expect((await api.request('/v1/refunds', { key: TEST_KEYS.server, json: body })).status).toBe(201);
        expect(await lateStarts(paymentId)).toEqual([refundId]);
        return withRelay(taskQueue, () =>
          eventually(async () => {
            const handle = suite.env.client.workflow.getHandle(lateRefundWorkflowId(refundId));
            const { status } = await handle.describe();
            return status.name === 'COMPLETED' ? ((await handle.result()) as LateRefundOutcome) : undefined;
          }),
        );
      });
      // 6,000 kept: 1,200 and 300 credits; 800 comes back out of earnings_whop (Whop's clawback mirrored).
      expect(outcome).toEqual({
        refundId,
        paymentId,
        outcome: 'taken_back',
        takenBack: { cash: 800, credits: 200 },
        from: 'whop',
      });
      expect(await whopBalance()).toBe(1_200);
      expect(await balances(edge)).toEqual({ pending: 0, payable: 0, paid: 0, credits: 300 });
      const rerun = await createLateRefundActivities({ db: db() }).takeBackLateRefund({ refundId });
      expect(rerun).toMatchObject({ outcome: 'already_taken_back' });
      expect(await whopBalance()).toBe(1_200);
    } finally {
      await api.close();
    }
  });

  it('a refund recorded while the edge ran but never delivered to it is taken back late when the edge closes; one the edge took back is not taken twice', async () => {
    const edge = await partnerEdge();
    const taskQueue = uniqueTaskQueue('late');
    const worker = await timeSkippingWorker(suite.env, db(), taskQueue);
    const paymentId = `pay-${stamp()}`;
    const [seen, missed] = [`ref-seen-${stamp()}`, `ref-missed-${stamp()}`];
    const result = await worker.runUntil(async () => {
      await earnAndClose(edge, taskQueue, paymentId, async (handle) => {
        await suite.env.sleep('40 days'); // released
        // One refund reaches the workflow; the other's message is still in the outbox (no relay runs)
        // when the workflow closes, as if it had reached the workflow while it was ending.
        for (const [refundId, amountCents] of [
          [seen, 1_000],
          [missed, 3_000],
        ] as const) {
          const written = await insertRefund(db(), {
            id: refundId,
            paymentId,
            amountCents,
            refundedAt: await nowOnServer(),
          });
          expect(written).toMatchObject({ kind: 'created', late: false });
          if (refundId === seen)
            await handle.signal(refundSignal, {
              eventId: `refund:${refundId}`,
              refundId,
              paymentId,
              amountCents,
              refundedAt: (await nowOnServer()).toISOString(),
            });
        }
      });
      // Closing stamped the edge completed, which handed the missed refund (only) to a late refund.
      expect(await lateStarts(paymentId)).toEqual([missed]);
      return withRelay(taskQueue, () =>
        eventually(async () => {
          const handle = suite.env.client.workflow.getHandle(lateRefundWorkflowId(missed));
          const { status } = await handle.describe();
          const message = await outcomeOf(missed);
          return status.name === 'COMPLETED' && message !== null
            ? { late: (await handle.result()) as LateRefundOutcome, message }
            : undefined;
        }),
      );
    });

    // The missed message found the workflow closed; the late refund took its part back.
    expect(result.message).toBe('workflow_closed');
    // Kept after 1,000 refunded: floor(9,000 x 20%) = 1,800 (the edge took back 200 and 50 credits);
    // after 4,000: 1,200 and 300, so the late refund takes back 600 and 150.
    expect(result.late).toMatchObject({
      outcome: 'taken_back',
      takenBack: { cash: 600, credits: 150 },
      from: 'payable',
    });
    expect(await clawbacksOf(paymentId)).toEqual(
      [`clawback:${missed}`, `clawback:${seen}`].sort().map((idempotency_key) => ({ idempotency_key })),
    );
    expect(await balances(edge)).toEqual({ pending: 0, payable: 1_200, paid: 0, credits: 300 });
  });
});
