// The Whop reconciliation on the real stack against the fake Whop server: it pages Whop's payments
// and refunds since its cursor, records what the ledger misses (once: a re-poll, or a payment that
// also came by webhook, changes nothing), lists what it cannot explain, and keeps its place through
// 429s. Its Schedule is created once per deployment.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { whopReconciliationScheduleId, whopReconciliationStart } from '../../contracts/whop-reconciliation.ts';
import { createLogger } from '../../platform/logger.ts';
import { createWhop } from '../../platform/whop.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { ensureWhopReconciliationSchedule } from '../../workers/whop-schedule.ts';
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
  const env = {
    WHOP_API_KEY: whop.apiKey,
    WHOP_BASE_URL: whop.baseUrl,
    WHOP_COMPANY_ID: whop.companyId,
    WHOP_WEBHOOK_SECRET: whop.webhookSecret,
  };
  const settings = testConfig(database.url, env).whop;
  worker = await startDevWorker(database.db, 'whop-recon', { whop: createWhop(settings) });
  starter = startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: worker.client,
    taskQueue: worker.taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs: 200,
  });
  api = await startTestApi({
    config: testConfig(database.url, { ...env, TEMPORAL_TASK_QUEUE: worker.taskQueue }),
    db: database.db,
    temporal: worker.client,
  });
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
let runs = 0;

/** One reconciliation run (2 items a page, to page), as the Schedule would start it. */
async function reconcile() {
  const start = whopReconciliationStart(worker.taskQueue, { everyMinutes: 15, pageSize: 2 });
  return worker.client.workflow.execute(start.workflowType, {
    workflowId: `${start.workflowId}-run-${++runs}`,
    taskQueue: worker.taskQueue,
    args: start.args,
  }) as Promise<{ pages: number; items: number; recorded: number; known: number; issues: number }>;
}

async function customerOf(referralCode: string) {
  const customer = await signup(api, { ref: referralCode });
  expect((await server('/v1/activations', { userId: customer.id })).status).toBe(202);
  const handle = worker.client.workflow.getHandle(`edge:${customer.id}`);
  await eventually(async () =>
    (await handle.query(stateQuery)).state === 'awaiting_first_payment' ? true : undefined,
  );
  return customer;
}

const checkout = async (token: string, planId: string) => {
  const res = await api.request('/v1/checkouts', { json: { planId }, headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(201);
  return res.body;
};

const priced = (paymentId: string) =>
  eventually(async () => {
    const res = await server(`/v1/payments/${paymentId}`);
    return res.status === 200 && res.body.commission?.status !== 'pending' ? res.body : undefined;
  });

const count = (query: ReturnType<typeof sql.unsafe>) =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM (${query}) q`);

describe('Whop reconciliation', () => {
  it('records what the ledger misses once, lists what it cannot explain, and keeps its place through 429s', async () => {
    const owner = await signup(api, { email: uniqueEmail('recon') });
    const terms = await partner(api, owner.tenantId);
    const [a, b] = [await customerOf(terms.referralCode), await customerOf(terms.referralCode)];
    const plan = `plan_recon_${Date.now().toString(36)}`;
    const [ca, cb] = [await checkout(a.token, plan), await checkout(b.token, plan)];
    // Another partner whose Whop aggregate will agree with our ledger: none of its payments' fees is asked.
    const other = await partner(api, (await signup(api, { email: uniqueEmail('agree') })).tenantId);
    const agreeing = whop.pay((await checkout((await customerOf(other.referralCode)).token, plan)).whopCheckoutId, {
      amountCents: 4_000,
    });

    const p1 = whop.pay(ca.whopCheckoutId, { amountCents: 10_000 });
    const p2 = whop.pay(cb.whopCheckoutId, { amountCents: 3_000 });
    const renewal = whop.renew(p1.id, { amountCents: 10_000 });
    const foreign = whop.foreignPayment(7_000);
    // p1 also arrives by webhook: polling must not record it again.
    expect((await whop.deliver(`${api.baseUrl}/webhooks/whop`, 'payment.succeeded', p1)).body.outcome).toBe('recorded');
    // Whop pays beyond our terms on the next payment: its override says 30%, ours 20%.
    const override = [...whop.overrides.values()].find((o) => o.plan_id === plan)!;
    override.commission_value = 30;
    const p3 = whop.pay(cb.whopCheckoutId, { amountCents: 5_000 });
    whop.refund(p2.id, 3_000);

    // Three 429s in a row on the payments list: the SDK's two retries, then the activity's own retry.
    for (let i = 0; i < 3; i++) whop.faults.push({ fault: '429', operation: 'GET /payments' });
    const limitedBefore = whop.stats.rateLimited;
    const first = await reconcile();
    expect(whop.stats.rateLimited - limitedBefore).toBe(3);
    // Recorded: p2, the renewal, p3, the other partner's payment and the refund; the foreign payment is an
    // issue. The affiliates' aggregates wait while their payments are not priced: no fee is asked then.
    // (A fast worker may price them within this same pass, before its affiliates page: then the
    // mismatch below is found now, its fees asked now; either way each fee is asked once.)
    expect(first).toMatchObject({ recorded: 5 });
    const feesAtFirst = whop.count('GET /payments/{id}/fees');
    expect(first.issues).toBe(feesAtFirst === 0 ? 1 : 2);
    for (const p of [p1, p2, renewal, p3, agreeing]) await priced(p.id);
    // Priced: Whop's aggregate for the partner (2,000 + 0 after the refund + 2,000 + 1,500 at 30%) is 500 more than
    // our whop rail's (1,000 for p3); only that affiliate's payments get their fees asked, once each.
    expect(await reconcile()).toMatchObject({ recorded: 0 });
    expect(whop.count('GET /payments/{id}/fees')).toBe(4);

    const ids = [p1.id, p2.id, renewal.id, p3.id];
    const rails = await database.db.any(sql.type(z.object({ id: z.string(), rail: z.string() }))`
      SELECT id, rail FROM payments WHERE id = ANY(${sql.array(ids, 'text')}) ORDER BY id`);
    expect(rails.map((r) => r.rail)).toEqual(['whop', 'whop', 'whop', 'whop']);
    const commissions = sql.unsafe`SELECT 1 FROM ledger_transactions WHERE kind = 'commission' AND metadata ->> 'paymentId' = ANY(${sql.array(ids, 'text')})`;
    expect(await count(commissions)).toBe(4);
    await eventually(async () =>
      (await server(`/v1/payments/${p2.id}`)).body.commission.cashCents === 0 ? true : undefined,
    );

    const listed = await api.request('/v1/admin/whop/reconciliation', { key: TEST_KEYS.finance });
    expect(listed.status).toBe(200);
    const kinds = listed.body.data.map((i: any) => `${i.kind}:${i.whopId}`).sort();
    const affiliateId = [...whop.overrides.values()].find((o) => o.plan_id === plan)!._affiliate;
    expect(kinds).toEqual(
      [
        `unmapped_payment:${foreign.id}`,
        `whop_paid_beyond_terms:${p3.id}`,
        `affiliate_earnings_mismatch:${affiliateId}`,
      ].sort(),
    );
    expect(listed.body.data.find((i: any) => i.whopId === p3.id).detail).toEqual({
      affiliateFeeCents: 1_500,
      ledgerCommissionCents: 1_000,
    });
    expect(listed.body.data.find((i: any) => i.whopId === affiliateId).detail).toEqual({
      whopEarnedCents: 5_500,
      ledgerWhopRailCents: 5_000,
      overrides: [{ overrideId: override.id, planId: plan, whopEarnedCents: 5_500 }],
      feesAsked: feesAtFirst === 0 ? 4 : 0, // the fees the last pass asked (none if the first one did)
      feesLeftToAsk: false,
    });
    expect((await api.request('/v1/admin/whop/reconciliation', { key: TEST_KEYS.server })).status).toBe(403);

    // A re-poll changes nothing; a payment made since is the only one the next run records.
    const transactions = sql.unsafe`SELECT 1 FROM ledger_transactions`;
    await eventually(async () =>
      (await count(sql.unsafe`SELECT 1 FROM workflow_outbox WHERE started_at IS NULL`)) === 0 ? true : undefined,
    );
    const before = await count(transactions);
    // The mismatch is listed again (it still disagrees), but no fee is asked twice.
    expect(await reconcile()).toMatchObject({ recorded: 0, issues: 1 });
    expect(await count(transactions)).toBe(before);
    expect(whop.count('GET /payments/{id}/fees')).toBe(4);
    const p4 = whop.pay(ca.whopCheckoutId, { amountCents: 2_000 });
    expect(await reconcile()).toMatchObject({ recorded: 1 });
    expect((await priced(p4.id)).commission).toMatchObject({ status: 'earned', cashCents: 400 });

    // Whop corrects what it paid at 30% (p3 and p4) to our terms: the aggregates agree, the mismatch leaves the list.
    expect(whop.affiliateFeeOf(p4.id)).toBe(600);
    whop.setAffiliateFee(p3.id, 1_000);
    whop.setAffiliateFee(p4.id, 400);
    expect(await reconcile()).toMatchObject({ recorded: 0 });
    const after = await api.request('/v1/admin/whop/reconciliation', { key: TEST_KEYS.finance });
    expect(after.body.data.map((i: any) => i.kind)).not.toContain('affiliate_earnings_mismatch');
  });

  it('a recurring override goes back to the first payment once every window behind it has closed', async () => {
    const owner = await signup(api, { email: uniqueEmail('window') });
    const terms = await partner(api, owner.tenantId); // recurring 12 months
    const plan = `plan_window_${Date.now().toString(36)}`;
    const early = await customerOf(terms.referralCode);
    const c = await checkout(early.token, plan);
    const override = [...whop.overrides.values()].find((o) => o.plan_id === plan)!;
    expect(override.applies_to_payments).toBe('all_payments');
    // Its first payment 13 months ago: its 12-month window has closed.
    const paidAt = new Date(Date.now() - 13 * 31 * 86_400_000);
    const first = whop.pay(c.whopCheckoutId, { amountCents: 10_000, paidAt });
    await whop.deliver(`${api.baseUrl}/webhooks/whop`, 'payment.succeeded', first);
    expect((await priced(first.id)).commission).toMatchObject({ status: 'earned', cashCents: 2_000 });

    await reconcile();
    expect(override.applies_to_payments).toBe('first_payment');
    const saved = () =>
      database.db.oneFirst(sql.type(z.object({ a: z.string() }))`
        SELECT applies_to_payments AS a FROM whop_overrides WHERE override_id = ${override.id}`);
    expect(await saved()).toBe('first_payment');
    // Whop pays nothing on the renewal now, and our ledger prices nothing for it.
    const renewal = whop.renew(first.id);
    const fees = await fetch(`${whop.baseUrl}/payments/${renewal.id}/fees`, {
      headers: { authorization: `Bearer ${whop.apiKey}` },
    }).then((r) => r.json() as Promise<any>);
    expect(fees.data.filter((f: any) => f.type === 'affiliate_fee')).toEqual([]);
    await whop.deliver(`${api.baseUrl}/webhooks/whop`, 'payment.succeeded', renewal);
    expect((await priced(renewal.id)).commission).toMatchObject({ status: 'not_eligible', cashCents: 0 });

    // A new referee's checkout needs the recurring terms again: all payments, and a run keeps them.
    const later = await customerOf(terms.referralCode);
    await checkout(later.token, plan);
    expect(override.applies_to_payments).toBe('all_payments');
    await reconcile();
    expect(override.applies_to_payments).toBe('all_payments');
    expect(await saved()).toBe('all_payments');
  });

  it("keeps each operation under WHOP_RATE_LIMIT_PER_MINUTE: at the fake's own limit it is never refused", async () => {
    const settings = (perMinute: number) => ({
      ...testConfig(database.url, {
        WHOP_API_KEY: whop.apiKey,
        WHOP_BASE_URL: whop.baseUrl,
        WHOP_COMPANY_ID: whop.companyId,
        WHOP_RATE_LIMIT_PER_MINUTE: String(perMinute),
      }).whop,
      maxRetries: 0,
    });
    const pages = (client: ReturnType<typeof createWhop>) =>
      Promise.allSettled(Array.from({ length: 8 }, () => client!.listRefunds({ since: null, after: null, first: 1 })));
    whop.rateLimitPerMinute = 240;
    try {
      const limited = whop.stats.rateLimited;
      const kept = await pages(createWhop(settings(240)));
      expect(kept.every((r) => r.status === 'fulfilled')).toBe(true);
      expect(whop.stats.rateLimited).toBe(limited);
      // Without our limit, the same burst against a stricter fake is refused: the check can fail.
      whop.rateLimitPerMinute = 3;
      const burst = await pages(createWhop(settings(600_000)));
      expect(burst.some((r) => r.status === 'rejected')).toBe(true);
      expect(whop.stats.rateLimited).toBeGreaterThan(limited);
    } finally {
      whop.rateLimitPerMinute = null;
    }
  });

  it('one Schedule per deployment; creating it again changes nothing', async () => {
    const opts = { taskQueue: worker.taskQueue, everyMinutes: 15 };
    expect((await ensureWhopReconciliationSchedule(worker.client, opts)).outcome).toBe('created');
    expect((await ensureWhopReconciliationSchedule(worker.client, opts)).outcome).toBe('unchanged');
    expect((await ensureWhopReconciliationSchedule(worker.client, { ...opts, everyMinutes: 30 })).outcome).toBe(
      'updated',
    );
    const handle = worker.client.schedule.getHandle(whopReconciliationScheduleId(worker.taskQueue));
    const described = await handle.describe();
    expect(described.action).toMatchObject({
      workflowType: whopReconciliationStart(worker.taskQueue, { everyMinutes: 30 }).workflowType,
    });
    await handle.delete();
  });
});
