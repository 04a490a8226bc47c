// Activities are at-least-once. Pricing a payment twice, or a worker killed (SIGKILL) while
// commissions are being posted and a new one taking over, still leaves exactly one commission
// transaction per payment and balances equal to what the workflows computed.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createCommissionActivities } from '../../activities/commission.ts';
import { DEFAULT_COMMISSION_SETTINGS } from '../../domain/commission.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { partnerEarnings } from '../../domain/ledger-postings.ts';
import { balanceOf } from '../../db/ledger.ts';
import { createLogger } from '../../platform/logger.ts';
import { recordActivation } from '../../services/activations.ts';
import { approve, createPartner } from '../../services/partners.ts';
import { recordPayment } from '../../services/payments.ts';
import { signUp } from '../../services/signups.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startDevWorker, uniqueTaskQueue, type RunningWorker } from '../support/temporal.ts';
import { killWorker, spawnWorker } from '../support/worker-process.ts';

let database: TestDatabase;
let temporal: RunningWorker; // its client; its own worker polls another queue
let starter: WorkflowStarter;
const taskQueue = uniqueTaskQueue('crash');

beforeAll(async () => {
  database = await createTestDatabase();
  temporal = await startDevWorker(database.db, 'crash-client');
  starter = startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: temporal.client,
    taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs: 200,
  });
});
afterAll(async () => {
  await starter?.stop();
  await temporal?.stop();
  await database?.drop();
});

const workerProcess = () => spawnWorker({ databaseUrl: database.url, taskQueue });

const signupDeps = () => ({ db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS });
let n = 0;
const email = (label: string) => `${label}-${Date.now().toString(36)}-${++n}@example.com`;

async function partnerWithCustomers(count: number, salesCommissionBps = 2_000) {
  const owner = await signUp(signupDeps(), { email: email('partner') });
  const deps = { db: database.db, publicBaseUrl: 'http://localhost' };
  const partner = await createPartner(deps, {
    tenantId: owner.user.tenant_id,
    salesCommissionBps,
    creditCommissionBps: 0,
  });
  await approve(deps, owner.user.tenant_id, 'test');
  const customers = [];
  for (let i = 0; i < count; i++)
    customers.push((await signUp(signupDeps(), { email: email('customer'), ref: partner.referral_code })).user.id);
  return { tenantId: owner.user.tenant_id, customers };
}

const commissionCount = (tenantId: string) =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(DISTINCT t.id)::int AS n FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
    JOIN ledger_accounts a ON a.id = e.account_id WHERE t.kind = 'commission' AND a.owner_id = ${tenantId}`);

describe('commission activities under crashes', () => {
  it('pricing a payment twice posts one transaction and answers the first pricing, even after the phase changed', async () => {
    const { tenantId, customers } = await partnerWithCustomers(1);
    const edgeId = await database.db.oneFirst(
      sql.type(z.object({ id: z.uuid() }))`SELECT id FROM edges WHERE referee_id = ${customers[0]!}`,
    );
    await recordPayment(
      { db: database.db },
      { paymentId: `twice-${n}`, userId: customers[0]!, amountCents: 12_345, currency: 'USD' },
    );
    const activities = createCommissionActivities({ db: database.db, settings: DEFAULT_COMMISSION_SETTINGS });
    const paymentId = `twice-${n}`;
    const input = {
      edgeId,
      firstPaymentAt: null,
      payments: [{ paymentId, amountCents: 12_345, paidAt: new Date().toISOString() }],
    };
    const [[a], [b]] = await Promise.all([activities.pricePayments(input), activities.pricePayments(input)]);
    await database.db.query(sql.unsafe`UPDATE partners SET sales_commission_bps = 5000 WHERE tenant_id = ${tenantId}`);
    const [c] = await activities.pricePayments(input);
    expect(a).toMatchObject({ status: 'earned', earned: { cash: 2_469 } });
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(await commissionCount(tenantId)).toBe(1);
    expect(await balanceOf(database.db, partnerEarnings(tenantId, 'pending'))).toBe(2_469);
    // Releases and clawbacks are keyed too.
    const to = { tenantId, referrerUserId: customers[0]! };
    await activities.releaseCommission({ paymentId, edgeId, to, cash: 2_469 });
    await activities.releaseCommission({ paymentId, edgeId, to, cash: 2_469 });
    expect(await balanceOf(database.db, partnerEarnings(tenantId, 'payable'))).toBe(2_469);
  });

  it('a worker killed while it posts commissions, then replaced: one transaction per payment, exact balances', async () => {
    const edges = 12;
    const paymentsPerEdge = 4;
    const { tenantId, customers } = await partnerWithCustomers(edges);
    let worker = workerProcess();
    try {
      for (const userId of customers)
        await recordActivation({ db: database.db, temporal: temporal.client, taskQueue }, { userId });
      await eventually(async () => {
        for (const userId of customers)
          if (
            (await temporal.client.workflow.getHandle(`edge:${userId}`).query(stateQuery)).state !==
            'awaiting_first_payment'
          )
            return undefined;
        return true;
      }, 60_000);

      // 48 payments of 1,000 + i cents: each earns floor(x 20%).
      let expected = 0;
      for (let p = 0; p < paymentsPerEdge; p++) {
        for (const [i, userId] of customers.entries()) {
          const amount = 1_000 + i * 7 + p;
          expected += Math.floor((amount * 2_000) / 10_000);
          await recordPayment(
            { db: database.db },
            { paymentId: `crash-${userId}-${p}`, userId, amountCents: amount, currency: 'USD' },
          );
        }
      }
      // Kill it mid-stream: some commissions posted, others in flight or not begun.
      await eventually(async () => ((await commissionCount(tenantId)) >= 3 ? true : undefined), 60_000);
      await killWorker(worker);
      const atKill = await commissionCount(tenantId);
      worker = workerProcess();

      await eventually(
        async () => ((await commissionCount(tenantId)) === edges * paymentsPerEdge ? true : undefined),
        90_000,
      );
      await eventually(async () => {
        let cash = 0;
        for (const userId of customers)
          cash += (await temporal.client.workflow.getHandle(`edge:${userId}`).query(stateQuery)).earned.cashCents;
        return cash === expected ? true : undefined;
      }, 60_000);
      expect(await balanceOf(database.db, partnerEarnings(tenantId, 'pending'))).toBe(expected);
      const keys = await database.db.anyFirst(sql.type(z.object({ k: z.string() }))`
        SELECT idempotency_key AS k FROM ledger_transactions WHERE kind = 'commission' AND metadata ->> 'paymentId' LIKE 'crash-%'`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.length).toBe(edges * paymentsPerEdge);
      console.log(
        `killed the worker after ${atKill} of ${edges * paymentsPerEdge} commissions; all ${keys.length} posted once, ${expected} cents pending`,
      );
    } finally {
      await killWorker(worker);
    }
  }, 240_000);
});

describe('pricing decides who buys, and names what no retry can fix', () => {
  it("a payment from the referrer's own inbox earns nothing; an unknown edge or payment fails for good, by name", async () => {
    const { customers } = await partnerWithCustomers(1);
    const edgeId = await database.db.oneFirst(
      sql.type(z.object({ id: z.uuid() }))`SELECT id FROM edges WHERE referee_id = ${customers[0]!}`,
    );
    // The referee's address changed after signup to one delivering to the referrer's inbox.
    await database.db.query(sql.unsafe`
      UPDATE users SET inbox = (SELECT r.inbox FROM edges e JOIN users r ON r.id = e.referrer_id WHERE e.id = ${edgeId}) WHERE id = ${customers[0]!}`);
    const paymentId = `self-${n}`;
    await recordPayment(
      { db: database.db },
      { paymentId, userId: customers[0]!, amountCents: 10_000, currency: 'USD' },
    );
    const activities = createCommissionActivities({ db: database.db, settings: DEFAULT_COMMISSION_SETTINGS });
    const payments = [{ paymentId, amountCents: 10_000, paidAt: new Date().toISOString() }];
    expect(await activities.pricePayments({ edgeId, firstPaymentAt: null, payments })).toEqual([
      { status: 'not_eligible', reason: 'self_purchase' },
    ]);

    await expect(
      activities.pricePayments({ edgeId: randomUUID(), firstPaymentAt: null, payments }),
    ).rejects.toMatchObject({ type: 'EdgeNotFound', nonRetryable: true });
    const unknown = [{ paymentId: `never-recorded-${n}`, amountCents: 10_000, paidAt: new Date().toISOString() }];
    await expect(activities.pricePayments({ edgeId, firstPaymentAt: null, payments: unknown })).rejects.toMatchObject({
      type: 'PaymentNotRecorded',
      nonRetryable: true,
    });
  });
});
