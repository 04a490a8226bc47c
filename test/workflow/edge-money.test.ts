// An edge's money over its whole life on the time-skipping test server: a year of monthly payments
// passes in seconds, with the real activities posting to a real PostgreSQL ledger.
import { describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { sql } from 'slonik';
import { z } from 'zod';
import type { EdgeLifecycleInput } from '../../domain/lifecycle.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { balanceOf } from '../../db/ledger.ts';
import { partnerEarnings, userCredits } from '../../domain/ledger-postings.ts';
import { insertPayment, findPayment } from '../../db/payments.ts';
import { insertRefund } from '../../db/refunds.ts';
import { signUp } from '../../services/signups.ts';
import { approve, createPartner } from '../../services/partners.ts';
import { edgeLifecycleInput } from '../../contracts/edge-lifecycle.ts';
import { referralLifecycle } from '../../workflows/referral-lifecycle.ts';
import {
  activatedSignal,
  paymentSignal,
  phaseChangedSignal,
  refundSignal,
  stateQuery,
  verdictSignal,
} from '../../contracts/edge-lifecycle.ts';
import { timeSkippingSuite, timeSkippingWorker, uniqueTaskQueue } from '../support/temporal.ts';

// A fresh test server per test (see referral-lifecycle.test.ts), and the program back in beta.
const suite = timeSkippingSuite((database) =>
  database.db.query(sql.unsafe`UPDATE program SET phase = 'beta', phase_changed_at = NULL`),
);

type Edge = { input: EdgeLifecycleInput; referrerId: string; tenantId: string };
let n = 0;
const stamp = () => `${Date.now().toString(36)}-${++n}`;
const signupDeps = () => ({ db: suite.database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS });

/** An approved partner's affiliate edge (intentional), with the partner's terms. */
async function partnerEdge(terms: {
  salesCommissionBps: number;
  creditCommissionBps: number;
  recurring: boolean;
  recurringMonths?: number;
}): Promise<Edge> {
  const owner = await signUp(signupDeps(), { email: `partner-${stamp()}@example.com` });
  const deps = { db: suite.database.db, publicBaseUrl: 'http://localhost' };
  const partner = await createPartner(deps, { tenantId: owner.user.tenant_id, ...terms });
  await approve(deps, owner.user.tenant_id, 'test-admin');
  const { edge } = await signUp(signupDeps(), { email: `customer-${stamp()}@example.com`, ref: partner.referral_code });
  expect(edge!.kind).toBe('intentional');
  return {
    input: edgeLifecycleInput(edge!, owner.user.tenant_id),
    referrerId: owner.user.id,
    tenantId: owner.user.tenant_id,
  };
}

/** A plain referral link in beta: a beta auto-enrolled edge. */
async function betaEdge(): Promise<Edge> {
  const referrer = await signUp(signupDeps(), { email: `referrer-${stamp()}@example.com` });
  const { edge } = await signUp(signupDeps(), { email: `referee-${stamp()}@example.com`, ref: referrer.user.id });
  expect(edge!.kind).toBe('beta_auto');
  return { input: edgeLifecycleInput(edge!, null), referrerId: referrer.user.id, tenantId: referrer.user.tenant_id };
}

const nowOnServer = async () => new Date(Number(await suite.env.currentTimeMs()));

/** Records a payment as the API does, and delivers its message as the relay would. */
async function pay(
  handle: WorkflowHandle,
  edge: Edge,
  paymentId: string,
  amountCents: number,
  paidAt?: Date,
): Promise<void> {
  const recorded = await insertPayment(suite.database.db, {
    id: paymentId,
    userId: edge.input.refereeId,
    amountCents,
    currency: 'USD',
    paidAt: paidAt ?? (await nowOnServer()),
  });
  expect(recorded?.row.edge_id).toBe(edge.input.edgeId);
  await handle.signal(paymentSignal, {
    eventId: `payment:${paymentId}`,
    paymentId,
    amountCents,
    currency: 'USD',
    paidAt: recorded!.row.paid_at.toISOString(),
  });
}

async function refund(handle: WorkflowHandle, refundId: string, paymentId: string, amountCents: number): Promise<void> {
  const outcome = await insertRefund(suite.database.db, {
    id: refundId,
    paymentId,
    amountCents,
    refundedAt: await nowOnServer(),
  });
  expect(outcome.kind).toBe('created');
  await handle.signal(refundSignal, {
    eventId: `refund:${refundId}`,
    refundId,
    paymentId,
    amountCents,
    refundedAt: (await nowOnServer()).toISOString(),
  });
}

async function activate(handle: WorkflowHandle, edge: Edge): Promise<void> {
  await handle.signal(activatedSignal, {
    eventId: `activation:${edge.input.refereeId}`,
    activatedAt: (await nowOnServer()).toISOString(),
  });
}

const balances = async (edge: Edge) => ({
  pending: await balanceOf(suite.database.db, partnerEarnings(edge.tenantId, 'pending')),
  payable: await balanceOf(suite.database.db, partnerEarnings(edge.tenantId, 'payable')),
  credits: await balanceOf(suite.database.db, userCredits(edge.referrerId)),
});

const transactionsOf = (edgeId: string) =>
  suite.database.db.any(sql.type(z.object({ kind: z.string(), idempotency_key: z.string() }))`
    SELECT kind, idempotency_key FROM ledger_transactions WHERE metadata ->> 'edgeId' = ${edgeId} ORDER BY created_at, idempotency_key`);

const DAY = 86_400_000;

/** What ops read on each timer the workflow started, in order (the UI shows nothing else of a timer). */
async function timerSummaries(workflowId: string): Promise<string[]> {
  const history = await suite.env.client.workflow.getHandle(workflowId).fetchHistory();
  return history
    .events!.filter((e) => e.timerStartedEventAttributes)
    .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata!.summary!));
}

describe('an edge earning commission', () => {
  it('a 12-month recurring affiliate edge: 12 monthly payments, a refund in month 5, exact cents in the ledger', async () => {
    const edge = await partnerEdge({
      salesCommissionBps: 2_000,
      creditCommissionBps: 500,
      recurring: true,
      recurringMonths: 12,
    });
    const taskQueue = uniqueTaskQueue('money');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const workflowId = `edge:${edge.input.refereeId}`;
    const result = await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId,
        taskQueue,
        args: [edge.input],
      });
      await suite.env.sleep('2 days');
      await activate(handle, edge);
      await suite.env.sleep('1 day');
      const first = await nowOnServer();
      for (let month = 1; month <= 12; month++) {
        const paidAt = new Date(first.getTime() + (month - 1) * 30 * DAY);
        const wait = paidAt.getTime() - (await nowOnServer()).getTime();
        if (wait > 0) await suite.env.sleep(wait);
        await pay(handle, edge, `${workflowId}-m${month}`, 4_999, paidAt);
        if (month === 1) await pay(handle, edge, `${workflowId}-m${month}`, 4_999, paidAt); // a duplicate changes nothing
        if (month === 5) {
          await suite.env.sleep('3 days');
          await refund(handle, `${workflowId}-r5`, `${workflowId}-m5`, 2_000);
          await handle.signal(refundSignal, {
            eventId: `refund:${workflowId}-r5`,
            refundId: `${workflowId}-r5`,
            paymentId: `${workflowId}-m5`,
            amountCents: 2_000,
            refundedAt: first.toISOString(),
          });
        }
        if (month === 6) expect((await handle.query(stateQuery)).state).toBe('earning');
      }
      // A 13th payment a year and a day after the first is outside the 12 recurring months.
      const late = new Date(first.getTime() + 366 * DAY);
      await suite.env.sleep(late.getTime() - (await nowOnServer()).getTime());
      await pay(handle, edge, `${workflowId}-m13`, 4_999, late);
      await suite.env.sleep('1 hour');
      const view = await handle.query(stateQuery);
      expect(view).toMatchObject({
        state: 'completed',
        waitingFor: 'refund_window',
        payments: { earning: 12, notEligible: 1 },
      });
      return handle.result();
    });

    // Each payment: floor(4,999 x 20%) = 999 cents and floor(4,999 x 5%) = 249 credits. The refund of
    // 2,000 leaves 2,999 paid: floor(2,999 x 20%) = 599 and 149 credits kept, so it takes back 400 and 100.
    const cash = 12 * 999 - 400;
    const credits = 12 * 249 - 100;
    expect(result).toMatchObject({
      state: 'completed',
      waitingFor: null,
      earned: { cashCents: cash, credits, pendingCents: 0, payableCents: cash },
    });
    expect(await balances(edge)).toEqual({ pending: 0, payable: cash, credits });
    const transactions = await transactionsOf(edge.input.edgeId);
    expect(transactions.filter((t) => t.kind === 'commission')).toHaveLength(12);
    expect(transactions.filter((t) => t.kind === 'commission_release')).toHaveLength(12);
    expect(transactions.filter((t) => t.kind === 'clawback').map((t) => t.idempotency_key)).toEqual([
      `clawback:${workflowId}-r5`,
    ]);
    expect(await findPayment(suite.database.db, `${workflowId}-m13`)).toMatchObject({
      commission_status: 'not_eligible',
      commission_reason: 'outside_window',
    });
    expect(await findPayment(suite.database.db, `${workflowId}-m1`)).toMatchObject({ commission_status: 'earned' });
    // The workflow closed once the refund window (180 days) after its last earning payment had passed.
    const { closeTime } = await suite.env.client.workflow.getHandle(workflowId).describe();
    expect(closeTime!.getTime() - new Date(result.firstPaymentAt!).getTime()).toBeGreaterThanOrEqual((330 + 180) * DAY);
    const edgeRow = await suite.database.db.one(
      sql.type(
        z.object({ completed_at: z.date().nullable() }),
      )`SELECT completed_at FROM edges WHERE id = ${edge.input.edgeId}`,
    );
    expect(edgeRow.completed_at).not.toBeNull();
    const summaries = await timerSummaries(workflowId);
    expect(summaries[0]).toBe('activation window ends');
    expect(summaries).toContain(`commission of payment ${workflowId}-m1 becomes payable`);
    expect(summaries.at(-1)).toBe('refund window closes');
  });

  it('a beta edge vests, earns nothing in cash until the phase changes, then 10% of its first payment after a retention gate', async () => {
    const edge = await betaEdge();
    const taskQueue = uniqueTaskQueue('money');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const workflowId = `edge:${edge.input.refereeId}`;
    await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId,
        taskQueue,
        args: [edge.input],
      });
      await activate(handle, edge);
      await suite.env.sleep('1 day');
      await pay(handle, edge, `${workflowId}-beta`, 10_000);
      await suite.env.sleep('40 days');
      expect(await findPayment(suite.database.db, `${workflowId}-beta`)).toMatchObject({
        commission_status: 'not_eligible',
        commission_reason: 'beta_phase',
      });
      expect(await handle.query(stateQuery)).toMatchObject({
        state: 'awaiting_first_payment',
        earned: { cashCents: 0 },
      });

      // The launch flip: the phase is read where a payment is priced, so a payment that arrives
      // before the workflow hears of the flip is already priced at the public tier.
      await suite.database.db.query(sql.unsafe`UPDATE program SET phase = 'public', phase_changed_at = now()`);
      await pay(handle, edge, `${workflowId}-first`, 10_001);
      await handle.signal(phaseChangedSignal, {
        eventId: 'phase:public',
        phase: 'public',
        changedAt: (await nowOnServer()).toISOString(),
      });
      await suite.env.sleep('1 day');
      expect(await handle.query(stateQuery)).toMatchObject({
        state: 'completed',
        phase: 'public',
        earned: { cashCents: 1_000, pendingCents: 1_000 },
      });
      await pay(handle, edge, `${workflowId}-second`, 10_000);
      await suite.env.sleep('1 day');
      expect(await findPayment(suite.database.db, `${workflowId}-second`)).toMatchObject({
        commission_status: 'not_eligible',
        commission_reason: 'outside_window',
      });

      // The retention gate (60 days) holds beta commission longer than the 30-day holding period.
      await suite.env.sleep('35 days');
      expect(await balances(edge)).toMatchObject({ pending: 1_000, payable: 0 });
      await suite.env.sleep('30 days');
      // Credits: the beta reward of vesting (rung 1 of the milestone ladder), none from commission.
      expect(await balances(edge)).toMatchObject({ pending: 0, payable: 1_000, credits: 250 });
    });
    const description = await suite.env.client.workflow.getHandle(workflowId).describe();
    expect(description.searchAttributes.ProgramPhase).toEqual(['public']);
  });

  it('a hold pays nothing until cleared; a void reverses everything the edge kept', async () => {
    const edge = await partnerEdge({
      salesCommissionBps: 3_000,
      creditCommissionBps: 0,
      recurring: true,
      recurringMonths: 6,
    });
    const taskQueue = uniqueTaskQueue('money');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const workflowId = `edge:${edge.input.refereeId}`;
    const result = await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId,
        taskQueue,
        args: [edge.input],
      });
      await activate(handle, edge);
      await pay(handle, edge, `${workflowId}-1`, 10_000);
      await suite.env.sleep('1 day');
      await handle.signal(verdictSignal, { eventId: 'verdict:v1', verdict: 'hold', reason: 'ip overlap' });
      await pay(handle, edge, `${workflowId}-2`, 10_000);
      await suite.env.sleep('40 days');
      // Held: the second payment waits unpriced and the first one's commission stays pending.
      expect(await handle.query(stateQuery)).toMatchObject({
        state: 'held',
        waitingFor: 'clearance',
        hold: { reason: 'ip overlap' },
        earned: { pendingCents: 3_000, payableCents: 0 },
      });
      expect(await findPayment(suite.database.db, `${workflowId}-2`)).toMatchObject({ commission_status: 'pending' });
      await handle.signal(verdictSignal, { eventId: 'verdict:v2', verdict: 'clear', reason: 'reviewed' });
      await suite.env.sleep('1 day');
      expect(await handle.query(stateQuery)).toMatchObject({
        state: 'earning',
        hold: null,
        earned: { cashCents: 6_000, pendingCents: 3_000, payableCents: 3_000 },
      });
      await handle.signal(verdictSignal, { eventId: 'verdict:v1', verdict: 'hold', reason: 'repeat of an old id' });
      expect((await handle.query(stateQuery)).state).toBe('earning');
      await handle.signal(verdictSignal, { eventId: 'verdict:v3', verdict: 'void', reason: 'fraud ring' });
      return handle.result();
    });
    expect(result).toMatchObject({ state: 'voided', earned: { cashCents: 0, pendingCents: 0, payableCents: 0 } });
    expect(await balances(edge)).toEqual({ pending: 0, payable: 0, credits: 0 });
    const kinds = (await transactionsOf(edge.input.edgeId)).map((t) => t.kind).sort();
    expect(kinds).toEqual(['commission', 'commission', 'commission_release', 'void', 'void']);
  });

  it('a refund that arrives before its payment waits for it; refunds in parts keep exactly zero of a fully refunded payment', async () => {
    const edge = await partnerEdge({ salesCommissionBps: 2_500, creditCommissionBps: 333, recurring: false });
    const taskQueue = uniqueTaskQueue('money');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const workflowId = `edge:${edge.input.refereeId}`;
    const view = await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId,
        taskQueue,
        args: [edge.input],
      });
      await activate(handle, edge);
      const paymentId = `${workflowId}-p`;
      const recorded = await insertPayment(suite.database.db, {
        id: paymentId,
        userId: edge.input.refereeId,
        amountCents: 9_999,
        currency: 'USD',
        paidAt: await nowOnServer(),
      });
      // The relay delivers messages concurrently: the first refund's message overtakes the payment's.
      await refund(handle, `${workflowId}-r1`, paymentId, 3_333);
      await handle.signal(paymentSignal, {
        eventId: `payment:${paymentId}`,
        paymentId,
        amountCents: 9_999,
        currency: 'USD',
        paidAt: recorded!.row.paid_at.toISOString(),
      });
      await suite.env.sleep('1 day');
      await refund(handle, `${workflowId}-r2`, paymentId, 3_333);
      await suite.env.sleep('40 days');
      await refund(handle, `${workflowId}-r3`, paymentId, 3_333);
      await suite.env.sleep('1 day');
      return handle.query(stateQuery);
    });
    expect(view).toMatchObject({ state: 'completed', earned: { cashCents: 0, credits: 0, pendingCents: 0 } });
    // Released after 30 days, then clawed back from payable: the balance nets to zero.
    expect(await balances(edge)).toEqual({ pending: 0, payable: 0, credits: 0 });
  });
});

describe('history stays bounded', () => {
  /** Every run of a workflow, newest first, by following continue-as-new links back. */
  async function runs(workflowId: string) {
    const result: { runId: string | undefined; events: number }[] = [];
    let runId: string | undefined;
    for (;;) {
      const history = await suite.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
      result.push({ runId, events: history.events!.length });
      const previous = history.events![0]!.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
      if (!previous) return result;
      runId = previous;
    }
  }

  async function weeklyYear(historyLimit?: number) {
    const edge = await partnerEdge({
      salesCommissionBps: 2_000,
      creditCommissionBps: 500,
      recurring: true,
      recurringMonths: 12,
    });
    const input = { ...edge.input, ...(historyLimit ? { historyLimit } : {}) };
    const taskQueue = uniqueTaskQueue('history');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const workflowId = `edge:${edge.input.refereeId}`;
    const view = await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, { workflowId, taskQueue, args: [input] });
      await activate(handle, edge);
      for (let week = 1; week <= 52; week++) {
        await pay(handle, edge, `${workflowId}-w${week}`, 1_250);
        // Repeats of events already handled, possibly in an earlier run, change nothing.
        if (week % 10 === 0)
          await handle.signal(paymentSignal, {
            eventId: `payment:${workflowId}-w1`,
            paymentId: `${workflowId}-w1`,
            amountCents: 1_250,
            currency: 'USD',
            paidAt: (await nowOnServer()).toISOString(),
          });
        await suite.env.sleep('7 days');
      }
      await suite.env.sleep('40 days');
      return handle.query(stateQuery);
    });
    return { edge, view, runs: await runs(workflowId) };
  }

  it('a 12-month recurring edge with weekly payments stays under 2,000 events per run', async () => {
    const { view, runs: all, edge } = await weeklyYear();
    for (const run of all) expect(run.events).toBeLessThan(2_000);
    // 52 payments of 1,250: 250 cents and 62 credits each.
    expect(view).toMatchObject({ payments: { earning: 52 }, earned: { cashCents: 52 * 250, credits: 52 * 62 } });
    expect(await balances(edge)).toEqual({ pending: 0, payable: 52 * 250, credits: 52 * 62 });
    console.log(
      `weekly payments for a year: ${all.length} run(s), events per run ${all.map((r) => r.events).join(', ')}`,
    );
  });

  it('continues as new with the processed event ids, so a repeat after the hand-over still changes nothing', async () => {
    const { view, runs: all, edge } = await weeklyYear(150);
    expect(all.length).toBeGreaterThan(2);
    for (const run of all) expect(run.events).toBeLessThan(200);
    expect(view).toMatchObject({ payments: { earning: 52 }, earned: { cashCents: 52 * 250, credits: 52 * 62 } });
    expect(await balances(edge)).toEqual({ pending: 0, payable: 52 * 250, credits: 52 * 62 });
  });
});
