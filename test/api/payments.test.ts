// Payments, refunds and fraud verdicts through the API on the real stack: API -> PostgreSQL ->
// outbox relay -> the edge's workflow -> activity -> ledger, and what the partner then sees.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { TEST_KEYS, type TestApi } from '../support/app.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import type { TestDatabase } from '../support/database.ts';
import { partner, signup } from '../support/graph.ts';
import { eventually, type RunningWorker } from '../support/temporal.ts';

let stack: TestStack;
let database: TestDatabase;
let worker: RunningWorker;
let api: TestApi;

beforeAll(async () => {
  stack = await startStack('payments');
  ({ database, worker, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

const server = (path: string, json?: unknown) =>
  api.request(path, json === undefined ? { key: TEST_KEYS.server } : { json, key: TEST_KEYS.server });
let n = 0;
const id = (label: string) => `${label}_${Date.now().toString(36)}_${++n}`;

/** An approved partner (20% cash, 5% credits, 12 months) and a customer who came through its code, activated. */
async function partnerCustomer() {
  const owner = await signup(api);
  const terms = await partner(api, owner.tenantId);
  const customer = await signup(api, { ref: terms.referralCode });
  expect(customer.body.edge.kind).toBe('intentional');
  expect((await server('/v1/activations', { userId: customer.id })).status).toBe(202);
  const handle = worker.client.workflow.getHandle(`edge:${customer.id}`);
  await eventually(async () =>
    (await handle.query(stateQuery)).state === 'awaiting_first_payment' ? true : undefined,
  );
  return { owner, customer, handle };
}

/** Waits until the edge's workflow has priced the payment; answers the payment as the API shows it. */
const priced = (paymentId: string) =>
  eventually(async () => {
    const res = await server(`/v1/payments/${paymentId}`);
    return res.body.commission?.status !== 'pending' ? res.body : undefined;
  });

describe('payments', () => {
  it('a payment reaches the edge, earns the partner its rates in the ledger, and shows on the partner', async () => {
    const { owner, customer, handle } = await partnerCustomer();
    const paymentId = id('ch');
    const res = await server('/v1/payments', { paymentId, userId: customer.id, amountCents: 4_999 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      paymentId,
      amountCents: 4_999,
      currency: 'USD',
      refundedCents: 0,
      edge: { id: customer.body.edge.id, workflowId: `edge:${customer.id}` },
    });
    const payment = await priced(paymentId);
    expect(payment.commission).toEqual({ status: 'earned', reason: null, cashCents: 999, credits: 249 });

    // A repeat answers the first record and changes nothing; the same id with other details is a 409.
    const again = await server('/v1/payments', { paymentId, userId: customer.id, amountCents: 4_999 });
    expect(again.status).toBe(200);
    expect((await server('/v1/payments', { paymentId, userId: customer.id, amountCents: 5_000 })).body.error.code).toBe(
      'payment_conflict',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await handle.query(stateQuery)).toMatchObject({
      state: 'earning',
      payments: { earning: 1 },
      earned: { cashCents: 999, credits: 249, pendingCents: 999 },
    });

    const stats = await api.request(`/v1/partners/${owner.tenantId}`, { key: TEST_KEYS.admin });
    expect(stats.body.stats).toMatchObject({
      totalReferrals: 1,
      activeReferrals: 1,
      totalEarningsCents: 999,
      pendingPayoutCents: 999,
      lifetimePayoutCents: 0,
    });
  });

  it('refunds claw back what they reversed, in parts; more than the payment, unknown payments and conflicts are refused', async () => {
    const { owner, customer } = await partnerCustomer();
    const paymentId = id('ch');
    await server('/v1/payments', { paymentId, userId: customer.id, amountCents: 10_000 });
    await priced(paymentId);

    const first = await server('/v1/refunds', { refundId: id('re'), paymentId, amountCents: 2_501 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ paymentId, amountCents: 2_501, payment: { refundedCents: 2_501 } });
    // 7,499 left: floor(7,499 x 20%) = 1,499 and floor(7,499 x 5%) = 374 kept.
    await eventually(async () =>
      (await server(`/v1/payments/${paymentId}`)).body.commission.cashCents === 1_499 ? true : undefined,
    );
    expect((await server(`/v1/payments/${paymentId}`)).body.commission).toEqual({
      status: 'earned',
      reason: null,
      cashCents: 1_499,
      credits: 374,
    });

    const tooMuch = await server('/v1/refunds', { refundId: id('re'), paymentId, amountCents: 7_500 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error).toMatchObject({ code: 'refund_exceeds_payment', param: 'amountCents' });
    expect((await server('/v1/refunds', { refundId: id('re'), paymentId: 'ch_nope', amountCents: 1 })).status).toBe(
      404,
    );
    expect(
      (await server('/v1/refunds', { refundId: first.body.refundId, paymentId, amountCents: 1 })).body.error.code,
    ).toBe('refund_conflict');
    const repeat = await server('/v1/refunds', { refundId: first.body.refundId, paymentId, amountCents: 2_501 });
    expect(repeat.status).toBe(200);

    const rest = await server('/v1/refunds', { refundId: id('re'), paymentId, amountCents: 7_499 });
    expect(rest.status).toBe(201);
    await eventually(async () =>
      (await server(`/v1/payments/${paymentId}`)).body.commission.cashCents === 0 ? true : undefined,
    );
    expect((await server(`/v1/payments/${paymentId}`)).body).toMatchObject({
      refundedCents: 10_000,
      commission: { status: 'earned', cashCents: 0, credits: 0 },
    });
    const stats = await api.request(`/v1/partners/${owner.tenantId}`, { key: TEST_KEYS.admin });
    expect(stats.body.stats).toMatchObject({ totalEarningsCents: 0, pendingPayoutCents: 0 });
    const clawbacks = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int AS n FROM ledger_transactions WHERE kind = 'clawback' AND metadata ->> 'paymentId' = ${paymentId}`);
    expect(clawbacks).toBe(2);
  });

  it('a payment by a user nobody referred is recorded and earns nothing; an unknown user is a 404', async () => {
    const loner = await signup(api);
    const paymentId = id('ch');
    const res = await server('/v1/payments', { paymentId, userId: loner.id, amountCents: 1_000 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      edge: null,
      commission: { status: 'not_eligible', reason: 'no_edge', cashCents: 0 },
    });
    const unknown = await server('/v1/payments', {
      paymentId: id('ch'),
      userId: '00000000-0000-4000-8000-000000000999',
      amountCents: 1_000,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('user_not_found');
  });

  it('a beta auto-enrolled edge earns nothing in cash in beta', async () => {
    const referrer = await signup(api);
    const referee = await signup(api, { ref: referrer.id });
    await server('/v1/activations', { userId: referee.id });
    const paymentId = id('ch');
    await server('/v1/payments', { paymentId, userId: referee.id, amountCents: 5_000 });
    expect((await priced(paymentId)).commission).toEqual({
      status: 'not_eligible',
      reason: 'beta_phase',
      cashCents: 0,
      credits: 0,
    });
  });

  it('a payment to an edge whose workflow has ended is recorded as such, and starts nothing', async () => {
    const { customer, handle } = await partnerCustomer();
    await handle.terminate('test: the edge ended');
    const paymentId = id('ch');
    await server('/v1/payments', { paymentId, userId: customer.id, amountCents: 2_000 });
    const payment = await priced(paymentId);
    expect(payment.commission).toEqual({ status: 'not_eligible', reason: 'edge_closed', cashCents: 0, credits: 0 });
    expect((await handle.describe()).status.name).toBe('TERMINATED');
  });

  it('rejects bad input with a clear error and writes nothing', async () => {
    const { customer } = await partnerCustomer();
    const bad = [
      { paymentId: id('ch'), userId: customer.id, amountCents: 0 },
      { paymentId: id('ch'), userId: customer.id, amountCents: 12.5 },
      { paymentId: id('ch'), userId: customer.id, amountCents: 100, currency: 'EUR' },
      { paymentId: id('ch'), userId: customer.id, amountCents: 100, commissionBps: 9_000 },
      { paymentId: 'has space', userId: customer.id, amountCents: 100 },
      { paymentId: id('ch'), userId: customer.id, amountCents: 100, paidAt: '2999-01-01T00:00:00Z' },
    ];
    for (const body of bad) {
      const res = await server('/v1/payments', body);
      expect(res.status).toBe(400);
      expect(res.body.error.type).toBe('invalid_request_error');
    }
    const count = await database.db.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM payments WHERE user_id = ${customer.id}`,
    );
    expect(count).toBe(0);
    expect(
      (
        await api.request('/v1/payments', {
          json: { paymentId: id('ch'), userId: customer.id, amountCents: 100 },
          key: TEST_KEYS.partnerA,
        })
      ).status,
    ).toBe(403);
    expect(
      (await api.request('/v1/payments', { json: { paymentId: id('ch'), userId: customer.id, amountCents: 100 } }))
        .status,
    ).toBe(401);
  });
});

describe('fraud verdicts', () => {
  it('hold stops commission until cleared; void takes back everything and ends the edge', async () => {
    const { owner, customer, handle } = await partnerCustomer();
    const edgeId = customer.body.edge.id;
    const verdict = (verdictId: string, v: string, reason = 'review') =>
      api.request(`/v1/admin/edges/${edgeId}/verdicts`, {
        json: { verdictId, verdict: v, reason },
        key: TEST_KEYS.admin,
      });

    const held = await verdict('v-hold', 'hold', 'same card as the referrer');
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ edgeId, verdict: 'hold', decidedBy: expect.stringMatching(/^admin-key:/) });
    expect((await verdict('v-hold', 'hold', 'same card as the referrer')).status).toBe(200);
    await eventually(async () => ((await handle.query(stateQuery)).state === 'held' ? true : undefined));
    const paymentId = id('ch');
    await server('/v1/payments', { paymentId, userId: customer.id, amountCents: 5_000 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await server(`/v1/payments/${paymentId}`)).body.commission.status).toBe('pending');

    await verdict('v-clear', 'clear');
    expect((await priced(paymentId)).commission).toMatchObject({ status: 'earned', cashCents: 1_000 });
    await verdict('v-void', 'void', 'fraud ring');
    const ended = await handle.result();
    expect(ended).toMatchObject({ state: 'voided', earned: { cashCents: 0, credits: 0 } });
    expect((await server(`/v1/payments/${paymentId}`)).body.commission).toMatchObject({ cashCents: 0, credits: 0 });
    const stats = await api.request(`/v1/partners/${owner.tenantId}`, { key: TEST_KEYS.admin });
    expect(stats.body.stats.totalEarningsCents).toBe(0);

    expect(
      (
        await api.request(`/v1/admin/edges/${edgeId}/verdicts`, {
          json: { verdictId: 'x', verdict: 'hold', reason: 'r' },
          key: TEST_KEYS.server,
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api.request('/v1/admin/edges/00000000-0000-4000-8000-000000000999/verdicts', {
          json: { verdictId: 'x', verdict: 'hold', reason: 'r' },
          key: TEST_KEYS.admin,
        })
      ).status,
    ).toBe(404);
  });
});
