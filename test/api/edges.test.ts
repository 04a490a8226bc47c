// GET /v1/edges/{id} on the real stack: the edge workflow's live state, the ledger's money to the
// cent, verdicts and payments, who may see it, and PostgreSQL's answer when the workflow cannot
// give one (not started by the relay yet, or Temporal down).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { edgeWorkflowId } from '../../contracts/edge-lifecycle.ts';
import { edgeLifecycleStarts } from '../../db/edges.ts';
import { partnerEarnings, userCredits, type AccountRef } from '../../domain/ledger-postings.ts';
import { startOnce } from '../../platform/workflow-delivery.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { PARTNER_A, startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { partner, signup, userInTenant, type SignedUp } from '../support/graph.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import { eventually } from '../support/temporal.ts';

let stack: TestStack;
let api: TestApi;
let apiWithoutTemporal: TestApi;

beforeAll(async () => {
  stack = await startStack('edges');
  api = stack.api;
  // Nothing listens on port 1: this app's Temporal is down.
  const down = testConfig(stack.database.url, { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  apiWithoutTemporal = await startTestApi({
    config: down,
    db: stack.database.db,
    temporal: createTemporalClient(down),
  });
});
afterAll(async () => {
  await apiWithoutTemporal?.close();
  await stack?.stop();
});

const DAY_MS = 86_400_000;
let n = 0;
const id = (label: string) => `${label}_${Date.now().toString(36)}_${++n}`;
const server = (path: string, json: unknown) => api.request(path, { json, key: TEST_KEYS.server });
const getEdge = (edgeId: string, key: string | undefined, via = api) => via.request(`/v1/edges/${edgeId}`, { key });
/** The edge once its workflow answers in the given state. */
const inState = (edgeId: string, state: string) =>
  eventually(async () => {
    const res = await getEdge(edgeId, TEST_KEYS.admin);
    return res.body.workflow?.source === 'workflow' && res.body.workflow.state === state ? res.body : undefined;
  });

/** A referrer whose approved partner tenant brought a customer through its code. */
async function partnerEdge(): Promise<{ owner: SignedUp; customer: SignedUp; edgeId: string }> {
  const owner = await signup(api);
  const terms = await partner(api, owner.tenantId);
  const customer = await signup(api, { ref: terms.referralCode });
  return { owner, customer, edgeId: customer.body.edge.id };
}

/**
 * What the ledger holds for the edge, read independently: every entry of a transaction naming it, by account, off the
 * platform's books.
 */
async function ledgerOf(edgeId: string): Promise<Record<string, number>> {
  const rows = await stack.database.db.any(sql.type(z.object({ account: z.string(), total: z.number() }))`
    SELECT a.owner_type || ':' || a.owner_id || ':' || a.purpose AS account, sum(e.amount)::int8 AS total
    FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id JOIN ledger_accounts a ON a.id = e.account_id
    WHERE t.metadata ->> 'edgeId' = ${edgeId} AND a.owner_type <> 'platform'
    GROUP BY 1`);
  return Object.fromEntries(rows.map((r) => [r.account, r.total]));
}
const moneyFromLedger = (ledger: Record<string, number>, owner: SignedUp) => {
  const on = (a: AccountRef) => ledger[`${a.ownerType}:${a.ownerId}:${a.purpose}`] ?? 0;
  const [pendingCents, payableCents] = [
    on(partnerEarnings(owner.tenantId, 'pending')),
    on(partnerEarnings(owner.tenantId, 'payable')),
  ];
  return { earnedCents: pendingCents + payableCents, pendingCents, payableCents, credits: on(userCredits(owner.id)) };
};

describe('GET /v1/edges/{id}', () => {
  it("shows an admin the edge with its workflow's live state, then its progress", async () => {
    const { owner, customer, edgeId } = await partnerEdge();
    const written = customer.body.edge;
    const body = await inState(edgeId, 'awaiting_activation');
    expect(body).toMatchObject({
      id: edgeId,
      referrerId: owner.id,
      refereeId: customer.id,
      source: 'partner_code',
      kind: 'intentional',
      phaseAtWrite: 'beta',
      code: written.code,
      createdAt: written.createdAt,
      vestedAt: null,
      expiredAt: null,
      completedAt: null,
      voidedAt: null,
      money: { earnedCents: 0, pendingCents: 0, payableCents: 0, credits: 0 },
      verdicts: [],
      payments: { total: 0, pending: 0, earned: 0, notEligible: 0, forfeited: 0, recent: [] },
    });
    expect(body.workflow).toEqual({
      source: 'workflow',
      unavailable: null,
      workflowId: edgeWorkflowId(customer.id),
      state: 'awaiting_activation',
      waitingFor: 'activation',
      activationDeadline: new Date(Date.parse(written.createdAt) + 30 * DAY_MS).toISOString(),
      activatedAt: null,
      commissionWindowEndsAt: null,
      hold: null,
    });

    expect((await server('/v1/activations', { userId: customer.id })).status).toBe(202);
    const vested = await inState(edgeId, 'awaiting_first_payment');
    expect(vested.vestedAt).toEqual(expect.any(String));
    expect(vested.workflow).toMatchObject({ waitingFor: 'first_payment', activatedAt: vested.vestedAt });
  });

  it('answers the money from the ledger to the cent: pending after a payment, net after a refund, nothing after a void', async () => {
    const { owner, customer, edgeId } = await partnerEdge();
    await server('/v1/activations', { userId: customer.id });
    await inState(edgeId, 'awaiting_first_payment');
    const paymentId = id('ch');
    await server('/v1/payments', { paymentId, userId: customer.id, amountCents: 4_999 });

    // 20% cash and 5% credits of 49.99, inside the holding period.
    const earning = await inState(edgeId, 'earning');
    expect(earning.money).toEqual({ earnedCents: 999, pendingCents: 999, payableCents: 0, credits: 249 });
    expect(earning.money).toEqual(moneyFromLedger(await ledgerOf(edgeId), owner));
    expect(earning.workflow).toMatchObject({ waitingFor: 'payments', commissionWindowEndsAt: expect.any(String) });
    expect(earning.payments).toEqual({
      total: 1,
      pending: 0,
      earned: 1,
      notEligible: 0,
      forfeited: 0,
      recent: [
        {
          paymentId,
          amountCents: 4_999,
          paidAt: expect.any(String),
          commissionStatus: 'earned',
          commissionReason: null,
        },
      ],
    });

    // 37.48 left: floor(3,748 x 20%) = 749 and floor(3,748 x 5%) = 187 kept.
    await server('/v1/refunds', { refundId: id('re'), paymentId, amountCents: 1_251 });
    const refunded = await eventually(async () => {
      const res = await getEdge(edgeId, TEST_KEYS.admin);
      return res.body.money.earnedCents !== 999 ? res.body : undefined;
    });
    expect(refunded.money).toEqual({ earnedCents: 749, pendingCents: 749, payableCents: 0, credits: 187 });
    expect(refunded.money).toEqual(moneyFromLedger(await ledgerOf(edgeId), owner));
    expect((await api.request(`/v1/payments/${paymentId}`, { key: TEST_KEYS.admin })).body.commission).toMatchObject({
      cashCents: 749,
      credits: 187,
    });

    const verdict = (verdictId: string, v: string, reason: string) =>
      api.request(`/v1/admin/edges/${edgeId}/verdicts`, {
        json: { verdictId, verdict: v, reason },
        key: TEST_KEYS.admin,
      });
    await verdict(id('v'), 'hold', 'same card as the referrer');
    const held = await inState(edgeId, 'held');
    expect(held.workflow).toMatchObject({
      waitingFor: 'clearance',
      hold: { reason: 'same card as the referrer', since: expect.any(String) },
    });
    await verdict(id('v'), 'clear', 'checked');
    await verdict(id('v'), 'void', 'fraud ring');
    const voided = await inState(edgeId, 'voided');
    expect(voided.voidedAt).toEqual(expect.any(String));
    expect(voided.money).toEqual({ earnedCents: 0, pendingCents: 0, payableCents: 0, credits: 0 });
    expect(voided.money).toEqual(moneyFromLedger(await ledgerOf(edgeId), owner));
    expect(voided.verdicts.map((v: any) => [v.verdict, v.reason])).toEqual([
      ['void', 'fraud ring'],
      ['clear', 'checked'],
      ['hold', 'same card as the referrer'],
    ]);
    expect(voided.verdicts[0]).toEqual({
      id: expect.any(String),
      verdict: 'void',
      reason: 'fraud ring',
      decidedBy: expect.stringMatching(/^admin-key:/),
      createdAt: expect.any(String),
    });
  });

  it("shows the referrer's tenant (its users and its partner key) and admins; anyone else gets the 404 of an edge that does not exist", async () => {
    const owner = await userInTenant(stack.database.db, PARTNER_A);
    const terms = await partner(api, PARTNER_A);
    const customer = await signup(api, { ref: terms.referralCode });
    const edgeId = customer.body.edge.id;
    expect(customer.body.edge.referrerId).toBe(owner.userId);

    for (const key of [TEST_KEYS.admin, TEST_KEYS.partnerA]) {
      const res = await getEdge(edgeId, key);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: edgeId, referrerId: owner.userId });
    }
    const missing = await getEdge('00000000-0000-4000-8000-00000000ffff', TEST_KEYS.admin);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ type: 'not_found_error', code: 'edge_not_found' });
    const stranger = await signup(api);
    for (const key of [TEST_KEYS.partnerB, stranger.token, customer.token]) {
      const res = await getEdge(edgeId, key);
      expect(res.status).toBe(404);
      expect([res.body.error.type, res.body.error.code]).toEqual([missing.body.error.type, missing.body.error.code]);
    }
    expect((await getEdge(edgeId, TEST_KEYS.server)).status).toBe(403);
    expect((await getEdge(edgeId, TEST_KEYS.finance)).status).toBe(403);
    expect((await getEdge(edgeId, undefined)).status).toBe(401);
  });

  it('shows the referrer themself their edge', async () => {
    const { owner, edgeId } = await partnerEdge();
    const res = await getEdge(edgeId, owner.token);
    expect(res.status).toBe(200);
    expect(res.body.referrerId).toBe(owner.id);
  });

  it('answers a malformed id 400, as every {id} route does', async () => {
    const res = await getEdge('not-a-uuid', TEST_KEYS.admin);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'id' });
  });

  it('answers from PostgreSQL when Temporal cannot be reached: the same state, the same money, holds from the verdicts', async () => {
    const { customer, edgeId } = await partnerEdge();
    await server('/v1/activations', { userId: customer.id });
    await inState(edgeId, 'awaiting_first_payment');
    await server('/v1/payments', { paymentId: id('ch'), userId: customer.id, amountCents: 10_000 });
    const live = await inState(edgeId, 'earning');

    const started = Date.now();
    const derived = await getEdge(edgeId, TEST_KEYS.admin, apiWithoutTemporal);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(derived.status).toBe(200);
    expect(derived.body.workflow).toEqual({
      ...live.workflow,
      source: 'database',
      unavailable: 'unreachable',
      commissionWindowEndsAt: null,
    });
    expect(derived.body.money).toEqual(live.money);

    await api.request(`/v1/admin/edges/${edgeId}/verdicts`, {
      json: { verdictId: id('v'), verdict: 'hold', reason: 'chargeback pattern' },
      key: TEST_KEYS.admin,
    });
    await inState(edgeId, 'held');
    expect((await getEdge(edgeId, TEST_KEYS.admin, apiWithoutTemporal)).body.workflow).toMatchObject({
      source: 'database',
      state: 'held',
      waitingFor: 'clearance',
      hold: { reason: 'chargeback pattern', since: expect.any(String) },
    });
  });

  // Last: stops the stack's relay.
  it('answers an edge whose workflow the relay has not started yet from PostgreSQL, never a 500', async () => {
    await stack.starter.stop();
    const { customer, edgeId } = await partnerEdge();
    const workflowId = edgeWorkflowId(customer.id);
    const lagging = await getEdge(edgeId, TEST_KEYS.admin);
    expect(lagging.status).toBe(200);
    expect(lagging.body.workflow).toEqual({
      source: 'database',
      unavailable: 'not_started',
      workflowId,
      state: 'awaiting_activation',
      waitingFor: 'activation',
      activationDeadline: new Date(Date.parse(customer.body.edge.createdAt) + 30 * DAY_MS).toISOString(),
      activatedAt: null,
      commissionWindowEndsAt: null,
      hold: null,
    });

    // Once the workflow runs, it answers itself, with the deadline PostgreSQL derived.
    const start = (await edgeLifecycleStarts(stack.database.db, [edgeId])).get(edgeId)!;
    await startOnce(stack.worker.client, start, stack.worker.taskQueue);
    const running = await inState(edgeId, 'awaiting_activation');
    expect(running.workflow).toEqual({ ...lagging.body.workflow, source: 'workflow', unavailable: null });
  });
});
