// Whop on the real stack, against the fake Whop server (the official SDK pointed at it by baseURL):
// checkouts carry the referrer's affiliate code from the graph (minted once), Whop's signed webhooks
// become payments and refunds on the whop rail, and no commission is ever paid on both rails.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { DEFAULT_COMMISSION_SETTINGS } from '../../domain/commission.ts';
import { previewCycle } from '../../services/payouts.ts';
import { createLogger } from '../../platform/logger.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { startTestApi, TEST_KEYS, testConfig, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startFakeWhop, type FakeWhop } from '../support/fake-whop.ts';
import { partner, signup, uniqueEmail } from '../support/graph.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
let starter: WorkflowStarter;
let api: TestApi;
let whop: FakeWhop;

beforeAll(async () => {
  whop = await startFakeWhop();
  database = await createTestDatabase();
  // Commission is payable at once (no holding period), so a payout preview shows what our cycles would pay.
  worker = await startDevWorker(database.db, 'whop', {
    commission: { ...DEFAULT_COMMISSION_SETTINGS, holdingPeriodDays: 0 },
  });
  const config = testConfig(database.url, {
    TEMPORAL_TASK_QUEUE: worker.taskQueue,
    WHOP_API_KEY: whop.apiKey,
    WHOP_BASE_URL: whop.baseUrl,
    WHOP_COMPANY_ID: whop.companyId,
    WHOP_WEBHOOK_SECRET: whop.webhookSecret,
    WHOP_TIMEOUT_MS: '1500',
  });
  starter = startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: worker.client,
    taskQueue: worker.taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs: 200,
  });
  api = await startTestApi({ config, db: database.db, temporal: worker.client });
});
afterAll(async () => {
  await api?.close();
  await starter?.stop();
  await worker?.stop();
  await database?.drop();
  await whop?.close();
});

const server = (path: string, json?: unknown) =>
  api.request(path, json === undefined ? { key: TEST_KEYS.server } : { json, key: TEST_KEYS.server });
const webhookUrl = () => `${api.baseUrl}/webhooks/whop`;
let n = 0;
const planId = () => `plan_${Date.now().toString(36)}${++n}`;

/** An approved partner (20% cash, 5% credits, recurring 12 months) and a customer through its code, activated. */
async function partnerCustomer() {
  const owner = await signup(api, { email: uniqueEmail('parent') });
  const terms = await partner(api, owner.tenantId);
  const customer = await signup(api, { ref: terms.referralCode });
  expect((await server('/v1/activations', { userId: customer.id })).status).toBe(202);
  const handle = worker.client.workflow.getHandle(`edge:${customer.id}`);
  await eventually(async () =>
    (await handle.query(stateQuery)).state === 'awaiting_first_payment' ? true : undefined,
  );
  return { owner, customer };
}

/** A checkout by the buyer, with their bearer token only: no cookie, no ?a= (a device never seen). */
const checkout = (token: string, body: Record<string, unknown>) =>
  api.request('/v1/checkouts', { json: body, headers: { authorization: `Bearer ${token}` } });

const priced = (paymentId: string) =>
  eventually(async () => {
    const res = await server(`/v1/payments/${paymentId}`);
    return res.status === 200 && res.body.commission?.status !== 'pending' ? res.body : undefined;
  });

const balance = (tenantId: string, purpose: string) =>
  database.db.oneFirst(sql.type(z.object({ b: z.number() }))`
    SELECT coalesce((SELECT balance FROM ledger_balances WHERE owner_type = 'tenant' AND owner_id = ${tenantId}
      AND purpose = ${purpose} AND currency = 'USD'), 0)::int8 AS b`);

describe('Whop', () => {
  it("the seed's test: parent minted by email, code injected at a fresh checkout, paid through Whop, parent credited; the injected code beats another affiliate's ?a= click", async () => {
    const { owner, customer } = await partnerCustomer();
    // Another affiliate whose link the buyer clicked last (their ?a= cookie would attribute the sale).
    const other = whop.affiliates.size;
    const clicker = await fetch(`${whop.baseUrl}/affiliates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${whop.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ company_id: whop.companyId, user_identifier: 'clicker@example.com' }),
    }).then((r) => r.json() as Promise<any>);
    expect(whop.affiliates.size).toBe(other + 1);

    const plan = planId();
    const res = await checkout(customer.token, { planId: plan, redirectUrl: 'https://shop.example.com/thanks' });
    expect(res.status).toBe(201);
    const parentCode = whop.usernameOf(owner.email);
    expect(res.body).toMatchObject({
      planId: plan,
      edgeId: customer.body.edge.id,
      affiliateCode: parentCode,
      noCodeReason: null,
    });
    expect(res.body.purchaseUrl).toMatch(/^https:\/\/whop\.com\/checkout\//);
    // Minted by the parent's email, with an override carrying the edge's terms (20%, recurring: all payments).
    const minted = [...whop.affiliates.values()].filter((a) => a.user.username === parentCode);
    expect(minted).toHaveLength(1);
    const overrides = [...whop.overrides.values()].filter((o) => o._affiliate === minted[0]!.id);
    expect(overrides).toEqual([
      expect.objectContaining({
        plan_id: plan,
        commission_type: 'percentage',
        commission_value: 20,
        applies_to_payments: 'all_payments',
      }),
    ]);
    const config = whop.checkouts.get(res.body.whopCheckoutId)!;
    expect(config.affiliate_code).toBe(parentCode);
    expect(config.metadata).toMatchObject({ rg_buyer_id: customer.id, rg_edge_id: customer.body.edge.id });

    const payment = whop.pay(res.body.whopCheckoutId, { amountCents: 10_000, click: clicker.user.username });
    const delivered = await whop.deliver(webhookUrl(), 'payment.succeeded', payment);
    expect(delivered).toMatchObject({ status: 200, body: { duplicate: false, outcome: 'recorded' } });

    const recorded = await priced(payment.id);
    expect(recorded).toMatchObject({
      userId: customer.id,
      amountCents: 10_000,
      edge: { id: customer.body.edge.id },
      commission: { status: 'earned', cashCents: 2_000, credits: 500 },
    });
    // The parent is credited in the ledger, on the whop rail: Whop pays it, our cycles never do.
    expect(await balance(owner.tenantId, 'earnings_whop')).toBe(2_000);
    expect(await balance(owner.tenantId, 'earnings_pending')).toBe(0);
    expect(await balance(owner.tenantId, 'earnings_payable')).toBe(0);
    // And at Whop, the injected code won: the parent's affiliate earned the fee, not the clicker's.
    const fees = await fetch(`${whop.baseUrl}/payments/${payment.id}/fees`, {
      headers: { authorization: `Bearer ${whop.apiKey}` },
    }).then((r) => r.json() as Promise<any>);
    expect(fees.data.filter((f: any) => f.type === 'affiliate_fee')).toEqual([expect.objectContaining({ amount: 20 })]);
    expect(whop.payments.find((p) => p.id === payment.id)!._affiliate).toBe(minted[0]!.id);
  });

  it('two racing checkouts mint one affiliate and one override; a later checkout mints nothing', async () => {
    const owner = await signup(api, { email: uniqueEmail('racer') });
    const terms = await partner(api, owner.tenantId);
    const a = await signup(api, { ref: terms.referralCode });
    const b = await signup(api, { ref: terms.referralCode });
    const plan = planId();
    whop.affiliateCreateDelayMs = 300;
    const before = {
      creates: whop.count('POST /affiliates'),
      overrides: whop.count('POST /affiliates/{id}/overrides'),
    };
    try {
      const [ra, rb] = await Promise.all([checkout(a.token, { planId: plan }), checkout(b.token, { planId: plan })]);
      expect([ra.status, rb.status]).toEqual([201, 201]);
      expect(ra.body.affiliateCode).toBe(rb.body.affiliateCode);
    } finally {
      whop.affiliateCreateDelayMs = 0;
    }
    const again = await checkout(a.token, { planId: plan });
    expect(again.status).toBe(201);
    expect(whop.count('POST /affiliates') - before.creates).toBe(1);
    expect(whop.count('POST /affiliates/{id}/overrides') - before.overrides).toBe(1);
    const rows = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int AS n FROM whop_overrides WHERE user_id = ${owner.id}`);
    expect(rows).toBe(1);
  });

  it('no edge, a beta auto-enrolled edge in beta, a held edge and a voided edge: a checkout with no code', async () => {
    const loner = await signup(api);
    const noEdge = await checkout(loner.token, { planId: planId() });
    expect(noEdge.body).toMatchObject({ edgeId: null, affiliateCode: null, noCodeReason: 'no_edge' });

    const referrer = await signup(api);
    const beta = await signup(api, { ref: referrer.id });
    expect((await checkout(beta.token, { planId: planId() })).body).toMatchObject({
      affiliateCode: null,
      noCodeReason: 'not_eligible',
    });

    const held = await partnerCustomer();
    await database.db.query(sql.unsafe`UPDATE edges SET held_at = now() WHERE referee_id = ${held.customer.id}`);
    expect((await checkout(held.customer.token, { planId: planId() })).body).toMatchObject({
      affiliateCode: null,
      noCodeReason: 'edge_held',
    });
    const voided = await partnerCustomer();
    await database.db.query(sql.unsafe`UPDATE edges SET voided_at = now() WHERE referee_id = ${voided.customer.id}`);
    const res = await checkout(voided.customer.token, { planId: planId() });
    expect(res.body).toMatchObject({ affiliateCode: null, noCodeReason: 'edge_voided' });
    // Whop got the checkout without a code, and the referrer was never minted.
    expect(whop.checkouts.get(res.body.whopCheckoutId)!.affiliate_code).toBeNull();
    expect([...whop.affiliates.values()].some((a) => a.user.username === whop.usernameOf(voided.owner.email))).toBe(
      false,
    );
  });

  it('a checkout needs a signed-in buyer and a plan id; bad input changes nothing', async () => {
    const buyer = await signup(api);
    const before = whop.checkouts.size;
    expect((await api.request('/v1/checkouts', { json: { planId: 'plan_x' } })).status).toBe(401);
    expect((await api.request('/v1/checkouts', { json: { planId: 'plan_x' }, key: TEST_KEYS.server })).status).toBe(
      403,
    );
    for (const body of [
      {},
      { planId: '' },
      { planId: 'has space' },
      { planId: 'p', redirectUrl: 'javascript:x' },
      { planId: 'p', extra: 1 },
    ])
      expect((await checkout(buyer.token, body)).status).toBe(400);
    expect(whop.checkouts.size).toBe(before);
  });

  it('Whop failing (500 then 429) answers 502/503 with Retry-After; the retry creates one checkout', async () => {
    const buyer = await signup(api);
    whop.faults.push({ fault: '500', operation: 'POST /checkout_configurations' });
    whop.faults.push({ fault: '500', operation: 'POST /checkout_configurations' });
    whop.faults.push({ fault: '500', operation: 'POST /checkout_configurations' });
    const failed = await checkout(buyer.token, { planId: planId() });
    expect(failed.status).toBe(502);
    expect(failed.body.error.code).toBe('whop_unavailable');
    expect(JSON.stringify(failed.body)).not.toContain(whop.apiKey);
    for (let i = 0; i < 3; i++) whop.faults.push({ fault: '429', operation: 'POST /checkout_configurations' });
    const limited = await checkout(buyer.token, { planId: planId() });
    expect(limited.status).toBe(503);
    expect(limited.headers.get('retry-after')).toBe('1');
    // One 429 the SDK retries through (after its retry-after-ms hint): created once.
    whop.faults.push({ fault: '429', operation: 'POST /checkout_configurations' });
    const before = whop.checkouts.size;
    expect((await checkout(buyer.token, { planId: planId() })).status).toBe(201);
    expect(whop.checkouts.size).toBe(before + 1);
  });

  it('a lost answer (Whop created the checkout, then timed out) is retried with the same Idempotency-Key: one checkout', async () => {
    const buyer = await signup(api);
    const before = { made: whop.checkouts.size, requests: whop.count('POST /checkout_configurations') };
    whop.faults.push({ fault: 'hang_after', operation: 'POST /checkout_configurations' });
    const res = await checkout(buyer.token, { planId: planId() });
    expect(res.status).toBe(201);
    expect(whop.count('POST /checkout_configurations') - before.requests).toBe(2);
    expect(whop.checkouts.size).toBe(before.made + 1);
    expect(whop.checkouts.get(res.body.whopCheckoutId)!._key).toBe(res.body.checkoutId);
    // A request that never answers at all is retried the same way.
    whop.faults.push({ fault: 'hang', operation: 'POST /checkout_configurations' });
    expect((await checkout(buyer.token, { planId: planId() })).status).toBe(201);
    expect(whop.checkouts.size).toBe(before.made + 2);
  });

  it('webhooks: signature checked on the raw body with the headers, each event id once', async () => {
    const { customer } = await partnerCustomer();
    const res = await checkout(customer.token, { planId: planId() });
    const payment = whop.pay(res.body.whopCheckoutId, { amountCents: 5_000 });
    const body = JSON.stringify({
      id: 'evt_sig_1',
      api_version: 'v1',
      type: 'payment.succeeded',
      timestamp: new Date().toISOString(),
      data: payment,
    });
    const post = (headers: Record<string, string>, raw = body) =>
      fetch(webhookUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: raw,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const wrongSecret = await post(whop.sign(body, { secret: 'ws_not_the_secret_0000' }));
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body.error.code).toBe('signature_invalid');
    expect(JSON.stringify(wrongSecret.body)).not.toContain(whop.webhookSecret);
    // The signature is over the exact bytes: the same JSON re-spaced does not verify.
    expect((await post(whop.sign(body), JSON.stringify(JSON.parse(body), null, 1))).status).toBe(400);
    const old = whop.sign(body, { at: new Date(Date.now() - 10 * 60_000) });
    expect((await post(old)).status).toBe(400);
    const { 'webhook-signature': _s, ...unsigned } = whop.sign(body);
    expect((await post(unsigned)).status).toBe(400);
    const { 'webhook-id': _i, ...noId } = whop.sign(body);
    expect((await post(noId)).status).toBe(400);
    expect((await server(`/v1/payments/${payment.id}`)).status).toBe(404);

    const first = await post(whop.sign(body));
    expect(first).toMatchObject({ status: 200, body: { eventId: 'evt_sig_1', duplicate: false, outcome: 'recorded' } });
    const again = await post(whop.sign(body));
    expect(again).toMatchObject({ status: 200, body: { duplicate: true } });
  });

  it('refunds and lost disputes claw back on the whop rail, once; renewals map through the membership', async () => {
    const { owner, customer } = await partnerCustomer();
    const res = await checkout(customer.token, { planId: planId() });
    const payment = whop.pay(res.body.whopCheckoutId, { amountCents: 10_000 });
    await whop.deliver(webhookUrl(), 'payment.succeeded', payment);
    await priced(payment.id);
    expect(await balance(owner.tenantId, 'earnings_whop')).toBe(2_000);

    const refund = whop.refund(payment.id, 2_500);
    expect((await whop.deliver(webhookUrl(), 'refund.created', refund)).body.outcome).toBe('recorded');
    expect((await whop.deliver(webhookUrl(), 'refund.updated', refund)).body.outcome).toBe('already_recorded');
    await eventually(async () => ((await balance(owner.tenantId, 'earnings_whop')) === 1_500 ? true : undefined));

    // A renewal carries neither our metadata nor the checkout id: the membership maps it.
    const renewal = whop.renew(payment.id, { amountCents: 4_000 });
    expect(renewal.metadata).toBeNull();
    expect((await whop.deliver(webhookUrl(), 'payment.succeeded', renewal)).body.outcome).toBe('recorded');
    expect((await priced(renewal.id)).commission).toMatchObject({ status: 'earned', cashCents: 800 });

    const open = whop.dispute(renewal.id, 4_000, 'needs_response');
    expect((await whop.deliver(webhookUrl(), 'dispute.created', open)).body.outcome).toBe('ignored');
    const lost = { ...open, status: 'lost' };
    expect((await whop.deliver(webhookUrl(), 'dispute.updated', lost)).body.outcome).toBe('recorded');
    await eventually(async () => ((await balance(owner.tenantId, 'earnings_whop')) === 1_500 ? true : undefined));
    const refunds = await database.db.any(sql.type(z.object({ id: z.string(), chargeback: z.boolean() }))`
      SELECT id, chargeback FROM refunds WHERE payment_id = ${renewal.id}`);
    expect(refunds).toEqual([{ id: open.id, chargeback: true }]);
    // Nothing of it ever reached what our payout cycles pay.
    expect(await balance(owner.tenantId, 'earnings_payable')).toBe(0);
  });

  it('a payment Whop pays and one outside Whop: each commission on one rail, never paid twice; the same payment twice is one payment', async () => {
    const { owner, customer } = await partnerCustomer();
    const res = await checkout(customer.token, { planId: planId() });
    const viaWhop = whop.pay(res.body.whopCheckoutId, { amountCents: 10_000 });
    // The same payment by webhook twice (two event ids, as a redelivery with a new id would be).
    await whop.deliver(webhookUrl(), 'payment.succeeded', viaWhop);
    expect((await whop.deliver(webhookUrl(), 'payment.succeeded', viaWhop)).body.outcome).toBe('already_recorded');
    await priced(viaWhop.id);
    // A payment through our own billing: our payout cycles pay it.
    const ours = `ch_ours_${Date.now().toString(36)}`;
    expect((await server('/v1/payments', { paymentId: ours, userId: customer.id, amountCents: 5_000 })).status).toBe(
      201,
    );
    await priced(ours);
    await eventually(async () => ((await balance(owner.tenantId, 'earnings_payable')) === 1_000 ? true : undefined));
    expect(await balance(owner.tenantId, 'earnings_whop')).toBe(2_000);
    const preview = await previewCycle({ db: database.db }, {});
    const item = preview.items.find((i) => i.tenantId === owner.tenantId)!;
    // What our cycle would pay is the payable balance: our payment's commission only.
    expect(item.amountCents).toBe(1_000);
    const commissions = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int AS n FROM ledger_transactions WHERE kind = 'commission' AND metadata ->> 'paymentId' = ${viaWhop.id}`);
    expect(commissions).toBe(1);
    // The partner's stats: Whop-paid earnings apart, in the total, never in what our cycles owe.
    const stats = (await api.request(`/v1/partners/${owner.tenantId}`, { key: TEST_KEYS.admin })).body.stats;
    expect(stats).toMatchObject({
      totalEarningsCents: 3_000,
      pendingPayoutCents: 1_000,
      lifetimePayoutCents: 0,
      whop: { earnedCents: 2_000 },
    });
  });
});
