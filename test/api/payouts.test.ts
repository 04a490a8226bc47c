// Payout cycles on the real stack: finance previews and starts cycles through the API, the cycle
// workflow pays through the official Stripe SDK against a stateful fake Stripe that fails on
// demand, and the ledger moves payable -> paid once per payout.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import Stripe from 'stripe';
import { z } from 'zod';
import { postTransaction, balanceOf } from '../../db/ledger.ts';
import { commissionExpense, commissionPosting, partnerEarnings, releasePosting } from '../../domain/ledger-postings.ts';
import { createStripe } from '../../platform/stripe.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.ts';
import { partner, userInTenant } from '../support/graph.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';
import { ensurePayoutSchedules } from '../../workers/payout-schedules.ts';
import { ScheduleOverlapPolicy } from '@temporalio/client';

let database: TestDatabase;
let worker: RunningWorker;
let api: TestApi;
let fake: FakeStripe;
const WEBHOOK_SECRET = 'whsec_test_payouts_0123456789';

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakeStripe();
  const stripeSettings = {
    secretKey: 'sk_test_fake',
    apiBase: fake.url,
    webhookSecret: WEBHOOK_SECRET,
    rateLimitPerSecond: 1_000,
    concurrency: 8,
  };
  worker = await startDevWorker(database.db, 'payouts', {
    stripe: createStripe(stripeSettings),
    stripeRateLimitPerSecond: 1_000,
    payoutConcurrency: 8,
  });
  const config = testConfig(database.url, {
    TEMPORAL_TASK_QUEUE: worker.taskQueue,
    STRIPE_SECRET_KEY: 'sk_test_fake',
    STRIPE_API_BASE: fake.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  api = await startTestApi({ config, db: database.db, temporal: worker.client });
});
afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await fake?.close();
  await database?.drop();
});

const finance = (path: string, json?: unknown) =>
  api.request(path, json === undefined ? { key: TEST_KEYS.finance } : { json, key: TEST_KEYS.finance });

/** An approved partner with `payableCents` already payable (a commission past its holding period). */
async function payablePartner(
  payableCents: number,
  settings: Record<string, unknown> = {},
  stripe: { account?: string | null; enabled?: boolean } = {},
) {
  const tenantId = randomUUID();
  const owner = await userInTenant(database.db, tenantId);
  await partner(api, tenantId, settings);
  const account =
    stripe.account === undefined ? `acct_${randomUUID().replaceAll('-', '').slice(0, 16)}` : stripe.account;
  if (account) {
    await database.db.query(
      sql.unsafe`UPDATE partners SET stripe_account_id = ${account}, stripe_account_status = ${stripe.enabled === false ? 'restricted' : 'enabled'} WHERE tenant_id = ${tenantId}`,
    );
    fake.accounts.set(account, { payoutsEnabled: stripe.enabled !== false });
  }
  const to = { tenantId, referrerUserId: owner.userId };
  const paymentId = `pay-${randomUUID()}`;
  if (payableCents > 0) {
    await postTransaction(
      database.db,
      commissionPosting({ paymentId, edgeId: randomUUID(), to, earned: { cash: payableCents, credits: 0 } })!,
    );
    await postTransaction(database.db, releasePosting({ paymentId, edgeId: randomUUID(), to, cash: payableCents })!);
  } else if (payableCents < 0) {
    // A clawback after an earlier payout: payable below zero.
    await postTransaction(database.db, {
      key: `clawback-${paymentId}`,
      kind: 'clawback',
      entries: [
        { ...partnerEarnings(tenantId, 'payable'), amount: payableCents },
        { ...commissionExpense, amount: -payableCents },
      ],
    });
  }
  return { tenantId, account };
}

const balances = async (tenantId: string) => ({
  payable: await balanceOf(database.db, partnerEarnings(tenantId, 'payable')),
  paid: await balanceOf(database.db, partnerEarnings(tenantId, 'paid')),
});

/** Runs a cycle by hand and waits for it to complete; answers its view. */
async function runCycle(): Promise<any> {
  const started = await finance('/v1/payout-cycles', {});
  expect(started.status).toBe(202);
  await worker.client.workflow.getHandle(started.body.workflowId).result();
  const view = await finance(`/v1/payout-cycles/${encodeURIComponent(started.body.cycleId)}?limit=1000`);
  expect(view.status).toBe(200);
  return view.body;
}

const itemOf = (cycle: any, tenantId: string) => cycle.items.find((i: any) => i.tenantId === tenantId);

beforeEach(async () => {
  // Each test's partners only: earlier tests' partners are made inactive.
  await database.db.query(sql.unsafe`UPDATE partners SET status = 'inactive'`);
  fake.faults.length = 0;
  fake.balanceCents = null;
});

describe('payout cycles', () => {
  it('previews without moving anything, then pays exactly who the rules say, once per period', async () => {
    const paid = await payablePartner(12_345);
    const below = await payablePartner(4_999); // threshold 5,000
    const negative = await payablePartner(-700);
    const noAccount = await payablePartner(9_000, {}, { account: null });
    const restricted = await payablePartner(9_000, {}, { enabled: false });
    const paypal = await payablePartner(6_000, { payoutMethod: 'paypal' });
    const unapproved = await payablePartner(9_000, { approved: false });

    const preview = await finance('/v1/payout-cycles', { dryRun: true });
    expect(preview.status).toBe(200);
    const outcome = (tenantId: string) => preview.body.items.find((i: any) => i.tenantId === tenantId);
    expect(outcome(paid.tenantId)).toMatchObject({ outcome: 'would_pay', rail: 'stripe', amountCents: 12_345 });
    expect(outcome(below.tenantId)).toMatchObject({
      outcome: 'rolled_forward',
      reason: 'below_threshold',
      amountCents: 4_999,
    });
    expect(outcome(negative.tenantId)).toMatchObject({
      outcome: 'rolled_forward',
      reason: 'negative_balance',
      amountCents: -700,
    });
    expect(outcome(noAccount.tenantId)).toMatchObject({ outcome: 'skipped', reason: 'stripe_account_missing' });
    expect(outcome(restricted.tenantId)).toMatchObject({
      outcome: 'skipped',
      reason: 'stripe_account_not_payouts_enabled',
    });
    expect(outcome(paypal.tenantId)).toMatchObject({ outcome: 'would_pay', rail: 'manual', amountCents: 6_000 });
    expect(outcome(unapproved.tenantId)).toBeUndefined();
    expect(fake.transfers).toHaveLength(0);
    expect(await balances(paid.tenantId)).toEqual({ payable: 12_345, paid: 0 });

    const cycle = await runCycle();
    expect(cycle).toMatchObject({
      status: 'completed',
      trigger: 'manual',
      requestedBy: expect.stringMatching(/^finance-key:/),
    });
    // Ops see what the run is in the Temporal UI.
    const described = await worker.client.workflow.getHandle(`payout-cycle:${cycle.id}`).describe();
    expect(await described.staticSummary()).toBe(
      `payout cycle (manual, by ${cycle.requestedBy}): weekly, biweekly, monthly, quarterly partners`,
    );
    expect(itemOf(cycle, paid.tenantId)).toMatchObject({
      outcome: 'paid',
      amountCents: 12_345,
      payoutStatus: 'paid',
      stripeTransferId: expect.stringMatching(/^tr_/),
    });
    expect(itemOf(cycle, below.tenantId)).toMatchObject({ outcome: 'rolled_forward', reason: 'below_threshold' });
    expect(itemOf(cycle, negative.tenantId)).toMatchObject({ outcome: 'rolled_forward', reason: 'negative_balance' });
    expect(itemOf(cycle, noAccount.tenantId)).toMatchObject({ outcome: 'skipped', reason: 'stripe_account_missing' });
    expect(itemOf(cycle, restricted.tenantId)).toMatchObject({
      outcome: 'skipped',
      reason: 'stripe_account_not_payouts_enabled',
    });
    expect(itemOf(cycle, paypal.tenantId)).toMatchObject({
      outcome: 'awaiting_manual',
      amountCents: 6_000,
      payoutStatus: 'awaiting_manual',
    });
    expect(await balances(paid.tenantId)).toEqual({ payable: 0, paid: 12_345 });
    expect(await balances(below.tenantId)).toEqual({ payable: 4_999, paid: 0 });
    expect(await balances(noAccount.tenantId)).toEqual({ payable: 9_000, paid: 0 });
    const transfer = fake.transfers.find((t) => t.destination === paid.account)!;
    expect(transfer).toMatchObject({
      amount: 12_345,
      currency: 'usd',
      idempotencyKey: `payout:${itemOf(cycle, paid.tenantId).payoutId}`,
    });

    // The partner page shows it from the ledger.
    const stats = await api.request(`/v1/partners/${paid.tenantId}`, { key: TEST_KEYS.admin });
    expect(stats.body.stats).toMatchObject({
      totalEarningsCents: 12_345,
      pendingPayoutCents: 0,
      lifetimePayoutCents: 12_345,
    });

    // Finance pays the PayPal partner by hand; marking it twice changes nothing.
    const payoutId = itemOf(cycle, paypal.tenantId).payoutId;
    const marked = await finance(`/v1/payouts/${encodeURIComponent(payoutId)}/mark-paid`, { reference: 'PP-123' });
    expect(marked.status).toBe(200);
    expect(marked.body).toMatchObject({
      status: 'paid',
      reference: 'PP-123',
      markedPaidBy: expect.stringMatching(/^finance-key:/),
    });
    expect(
      (await finance(`/v1/payouts/${encodeURIComponent(payoutId)}/mark-paid`, { reference: 'PP-123' })).status,
    ).toBe(200);
    expect(
      (await finance(`/v1/payouts/${encodeURIComponent(payoutId)}/mark-paid`, { reference: 'PP-999' })).body.error.code,
    ).toBe('payout_already_paid');
    expect(await balances(paypal.tenantId)).toEqual({ payable: 0, paid: 6_000 });

    // A second cycle in the same period pays nobody twice; new earnings wait for the next period.
    const again = await runCycle();
    expect(itemOf(again, paid.tenantId)).toMatchObject({ outcome: 'skipped', reason: 'already_paid_this_period' });
    expect(itemOf(again, paypal.tenantId)).toMatchObject({ outcome: 'skipped', reason: 'already_paid_this_period' });
    expect(fake.duplicateTransfers()).toBe(0);
    expect(fake.transfers.filter((t) => t.destination === paid.account)).toHaveLength(1);
  });

  it('Stripe failing on the way (500, 429, a lost answer after the transfer) still makes one transfer per payout', async () => {
    const partners = await Promise.all([payablePartner(10_000), payablePartner(20_000), payablePartner(30_000)]);
    fake.faults.push({ kind: '500' }, { kind: '429' }, { kind: 'drop_after_success' }, { kind: '500' });
    const cycle = await runCycle();
    for (const p of partners)
      expect(itemOf(cycle, p.tenantId)).toMatchObject({ outcome: 'paid', payoutStatus: 'paid' });
    for (const p of partners) expect(fake.transfers.filter((t) => t.destination === p.account)).toHaveLength(1);
    expect(fake.duplicateTransfers()).toBe(0);
    expect(fake.stats.replayed).toBeGreaterThan(0); // the lost answer was replayed by its idempotency key
    const ledger = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int AS n FROM ledger_transactions WHERE kind = 'payout' AND metadata ->> 'payoutId' = ANY(${sql.array(
        partners.map((p) => itemOf(cycle, p.tenantId).payoutId),
        'text',
      )})`);
    expect(ledger).toBe(3);
  });

  it('insufficient funds and an account that cannot receive fail the payout with the reason and keep the balance', async () => {
    const broke = await payablePartner(50_000);
    fake.balanceCents = 10_000;
    const cycle = await runCycle();
    expect(itemOf(cycle, broke.tenantId)).toMatchObject({
      outcome: 'failed',
      reason: 'balance_insufficient',
      payoutStatus: 'failed',
    });
    expect(await balances(broke.tenantId)).toEqual({ payable: 50_000, paid: 0 });

    fake.balanceCents = null;
    const disabled = await payablePartner(8_000);
    fake.accounts.set(disabled.account!, { payoutsEnabled: false }); // our record is stale: Stripe refuses
    const next = await runCycle();
    expect(itemOf(next, disabled.tenantId)).toMatchObject({ outcome: 'failed', reason: 'transfers_not_allowed' });
    expect(await balances(disabled.tenantId)).toEqual({ payable: 8_000, paid: 0 });
    expect(fake.duplicateTransfers()).toBe(0);
  });

  it('a cycle Stripe refuses outright (our key) ends as failed, its workflow failed, and the next cycle pays', async () => {
    const partner = await payablePartner(12_000);
    fake.faults.push({ kind: '401' });
    const started = await finance('/v1/payout-cycles', {});
    expect(started.status).toBe(202);
    await expect(worker.client.workflow.getHandle(started.body.workflowId).result()).rejects.toThrow();
    const failed = await finance(`/v1/payout-cycles/${encodeURIComponent(started.body.cycleId)}`);
    expect(failed.body).toMatchObject({ status: 'failed', completedAt: expect.any(String) });
    const next = await runCycle();
    expect(next.status).toBe('completed');
    expect(itemOf(next, partner.tenantId)).toMatchObject({ outcome: 'paid', payoutStatus: 'paid' });
    expect(fake.duplicateTransfers()).toBe(0);
  });

  it('a manual trigger while a cycle runs does not start a second one', async () => {
    await payablePartner(10_000);
    fake.faults.push({ kind: 'hang' });
    const first = await finance('/v1/payout-cycles', {});
    expect(first.status).toBe(202);
    await eventually(async () =>
      (await finance(`/v1/payout-cycles/${encodeURIComponent(first.body.cycleId)}`)).status === 200 ? true : undefined,
    );
    const second = await finance('/v1/payout-cycles', {});
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'cycle_running' });
    expect(second.body.error.message).toContain(first.body.cycleId);
    await worker.client.workflow.getHandle(first.body.workflowId).result(); // the hung call times out and is retried
    expect(fake.duplicateTransfers()).toBe(0);
  }, 90_000);

  it('finance keys only; bad input is refused', async () => {
    for (const key of [TEST_KEYS.admin, TEST_KEYS.server, TEST_KEYS.partnerA]) {
      expect((await api.request('/v1/payout-cycles', { json: { dryRun: true }, key })).status).toBe(403);
    }
    expect((await api.request('/v1/payout-cycles', { json: { dryRun: true } })).status).toBe(401);
    expect((await finance('/v1/payout-cycles', { dryRun: 'yes' })).status).toBe(400);
    expect((await finance('/v1/payout-cycles', { frequencies: ['daily'] })).status).toBe(400);
    expect((await finance('/v1/payout-cycles/nope')).status).toBe(404);
    expect((await finance('/v1/payouts/nope/mark-paid', { reference: 'x' })).status).toBe(404);
  });
});

describe('payout schedules', () => {
  it("one Schedule per frequency starts that frequency's cycle, skipping overlaps; creating them again changes nothing", async () => {
    const prefix = `t${randomUUID().slice(0, 6)}-`;
    const created = await ensurePayoutSchedules(worker.client, worker.taskQueue, prefix);
    expect(created.sort()).toEqual(['biweekly', 'monthly', 'quarterly', 'weekly'].map((f) => `${prefix}payouts-${f}`));
    expect(await ensurePayoutSchedules(worker.client, worker.taskQueue, prefix)).toEqual([]);
    const monthly = await worker.client.schedule.getHandle(`${prefix}payouts-monthly`).describe();
    expect(monthly.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(monthly.spec.calendars?.[0]).toMatchObject({
      dayOfMonth: [{ start: 1, end: 1, step: 1 }],
      hour: [{ start: 6, end: 6, step: 1 }],
    });
    expect(monthly.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'payoutCycle',
      workflowId: `payout-cycle:${prefix}monthly`,
      args: [{ frequencies: ['monthly'], trigger: 'schedule' }],
      staticSummary: `payout cycle (schedule, by schedule:${prefix}payouts-monthly): monthly partners`,
    });

    // Triggered now (as at its time), it pays the monthly partners.
    const p = await payablePartner(7_777);
    await worker.client.schedule.getHandle(`${prefix}payouts-monthly`).trigger();
    const cycleId = await eventually(
      async () =>
        (await database.db.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
      SELECT id FROM payout_cycles WHERE trigger = 'schedule' AND status = 'completed'`)) ?? undefined,
      30_000,
    );
    expect(cycleId).toMatch(new RegExp(`^${prefix}monthly-`));
    expect(await balances(p.tenantId)).toEqual({ payable: 0, paid: 7_777 });
    for (const id of created) await worker.client.schedule.getHandle(id).delete();
  });
});

describe('Stripe webhooks', () => {
  const stripe = new Stripe('sk_test_fake');
  const signed = (event: unknown, secret = WEBHOOK_SECRET) => {
    const payload = JSON.stringify(event);
    return { payload, header: stripe.webhooks.generateTestHeaderString({ payload, secret }) };
  };
  const post = (payload: string, header?: string) =>
    fetch(`${api.baseUrl}/webhooks/stripe`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json', ...(header ? { 'stripe-signature': header } : {}) },
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  it('checks the signature, handles each event once and keeps Connect account status current', async () => {
    const { tenantId, account } = await payablePartner(0, {}, { enabled: false });
    const event = {
      id: `evt_${randomUUID().slice(0, 8)}`,
      object: 'event',
      type: 'account.updated',
      data: {
        object: {
          id: account,
          object: 'account',
          payouts_enabled: true,
          details_submitted: true,
          requirements: { disabled_reason: null },
        },
      },
    };
    const { payload, header } = signed(event);
    expect((await post(payload, header)).body).toEqual({ received: true, eventId: event.id, duplicate: false });
    const status = () =>
      database.db.oneFirst(
        sql.type(
          z.object({ s: z.string() }),
        )`SELECT stripe_account_status AS s FROM partners WHERE tenant_id = ${tenantId}`,
      );
    expect(await status()).toBe('enabled');
    expect((await post(payload, header)).body).toMatchObject({ duplicate: true });

    const forged = signed(
      { ...event, id: 'evt_forged', data: { object: { ...event.data.object, payouts_enabled: false } } },
      'whsec_someone_else',
    );
    const refused = await post(forged.payload, forged.header);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('signature_invalid');
    expect((await post(payload)).body.error.code).toBe('signature_missing');
    expect(await status()).toBe('enabled');
  });
});
