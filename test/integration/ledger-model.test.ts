// Ledger conservation, model-based (issue 17): fast-check sequences of payments, duplicate
// deliveries, partial and full refunds, holds, clears, voids, releases, payout cycles (the stateful
// Stripe fake) and clawbacks over several partners, driven through the real services (payments,
// refunds, verdicts) and the activities the edge and payout workflows call, orchestrated the way
// the edge workflow does it (domain/edge-earnings.ts). After every step the real ledger and a
// small in-memory model agree on every partner's pending, payable and paid earnings and every
// referrer's credits, and the double entry sums to zero. LEDGER_MODEL_RUNS sets the number of
// sequences (default 40, about 15 s).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { createCommissionActivities } from '../../activities/commission.ts';
import { createPayoutActivities } from '../../activities/payouts.ts';
import { balanceOf } from '../../db/ledger.ts';
import { DEFAULT_COMMISSION_SETTINGS } from '../../domain/commission.ts';
import { applyBps } from '../../domain/money.ts';
import {
  applyRefund,
  NO_EARNINGS,
  pendingReleases,
  recordPricedPayment,
  release,
  voidAll,
  type EdgeEarnings,
} from '../../domain/edge-earnings.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { partnerEarnings, userCredits } from '../../domain/ledger-postings.ts';
import { DEFAULT_PARTNER_TERMS } from '../../domain/partner-settings.ts';
import { createStripe } from '../../platform/stripe.ts';
import { recordPayment, recordRefund, recordVerdict } from '../../services/payments.ts';
import { approve, createPartner } from '../../services/partners.ts';
import { signUp } from '../../services/signups.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.ts';
import { uniqueEmail } from '../support/graph.ts';

const RUNS = Number(process.env.LEDGER_MODEL_RUNS ?? 40);
const SALES_BPS = DEFAULT_PARTNER_TERMS.salesCommissionBps;
const CREDIT_BPS = DEFAULT_PARTNER_TERMS.creditCommissionBps;
const THRESHOLD = DEFAULT_PARTNER_TERMS.payoutThresholdCents;

let database: TestDatabase;
let fake: FakeStripe;
beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakeStripe();
});
afterAll(async () => {
  await fake?.close();
  await database?.drop();
});

const commission = () => createCommissionActivities({ db: database.db, settings: DEFAULT_COMMISSION_SETTINGS });
const payouts = () =>
  createPayoutActivities({
    db: database.db,
    stripe: createStripe({
      secretKey: 'sk_test_fake',
      apiBase: fake.url,
      webhookSecret: null,
      rateLimitPerSecond: 1_000,
      concurrency: 4,
    }),
    stripeRateLimitPerSecond: 1_000,
    concurrency: 4,
  });

// ---- the commands -------------------------------------------------------------------------------
type Command =
  | { kind: 'pay'; edge: number; amount: number; dup: boolean }
  | { kind: 'refund'; payment: number; full: boolean; share: number; dup: boolean }
  | { kind: 'hold' | 'clear' | 'void'; edge: number; dup: boolean }
  | { kind: 'release'; edge: number; dup: boolean }
  | { kind: 'payout'; dup: boolean };

const PARTNERS = 3;
const EDGES_PER_PARTNER = 2;
const EDGES = PARTNERS * EDGES_PER_PARTNER;
const edgeIx = fc.integer({ min: 0, max: EDGES - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('pay' as const),
      edge: edgeIx,
      amount: fc.integer({ min: 1, max: 60_000 }),
      dup: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      payment: fc.nat(),
      full: fc.boolean(),
      share: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
      dup: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hold' as const), edge: edgeIx, dup: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), edge: edgeIx, dup: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('void' as const), edge: edgeIx, dup: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), edge: edgeIx, dup: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('payout' as const), dup: fc.boolean() }) },
);

// ---- the model: plain arithmetic over payments, no ledger rules ----------------------------------
type ModelPayment = {
  edge: number;
  amount: number;
  refunded: number;
  priced: boolean;
  released: boolean;
  voided: boolean;
};
type ModelEdge = {
  held: boolean;
  voided: boolean;
  queued: ({ payment: number } | { refund: number; cents: number })[];
};
type Model = { payments: (ModelPayment | null)[]; edges: ModelEdge[]; paidOut: number[] };

const kept = (p: ModelPayment) => ({
  cash: applyBps(p.amount - p.refunded, SALES_BPS),
  credits: applyBps(p.amount - p.refunded, CREDIT_BPS),
});
function modelBalances(m: Model, partner: number) {
  let pending = 0;
  let released = 0;
  let credits = 0;
  for (const p of m.payments) {
    if (!p || !p.priced || p.voided || Math.floor(p.edge / EDGES_PER_PARTNER) !== partner) continue;
    const k = kept(p);
    if (p.released) released += k.cash;
    else pending += k.cash;
    credits += k.credits;
  }
  return { pending, payable: released - m.paidOut[partner]!, paid: m.paidOut[partner]!, credits };
}

// ---- the system: real services and activities, orchestrated as the edge workflow does -------------
type Run = {
  id: string;
  partners: { tenantId: string; ownerId: string }[];
  edges: {
    id: string;
    refereeId: string;
    earnings: EdgeEarnings;
    firstPaymentAt: string | null;
    held: boolean;
    voided: boolean;
    queue: (
      | { paymentId: string; amountCents: number; paidAt: string }
      | { refundId: string; paymentId: string; amountCents: number }
    )[];
  }[];
  payments: { id: string; edge: number; amount: number; refunded: number }[];
};

let cyclesOpened = 0;
const figures = { sequences: 0, steps: 0, duplicates: 0, payouts: 0, clawbacks: 0, violations: 0 };

async function setUp(): Promise<Run> {
  const signupDeps = { db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS };
  const run: Run = { id: randomUUID().slice(0, 8), partners: [], edges: [], payments: [] };
  // Partners of earlier sequences leave the payout cycles alone.
  await database.db.query(sql.unsafe`UPDATE partners SET status = 'inactive'`);
  for (let i = 0; i < PARTNERS; i++) {
    const owner = await signUp(signupDeps, { email: uniqueEmail('partner') });
    const deps = { db: database.db, publicBaseUrl: 'http://localhost' };
    await createPartner(deps, { tenantId: owner.user.tenant_id });
    await approve(deps, owner.user.tenant_id, 'ledger-model');
    const account = `acct_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    await database.db.query(
      sql.unsafe`UPDATE partners SET stripe_account_id = ${account}, stripe_account_status = 'enabled' WHERE tenant_id = ${owner.user.tenant_id}`,
    );
    fake.accounts.set(account, { payoutsEnabled: true });
    run.partners.push({ tenantId: owner.user.tenant_id, ownerId: owner.user.id });
    for (let j = 0; j < EDGES_PER_PARTNER; j++) {
      const referee = await signUp(signupDeps, { email: uniqueEmail('referee'), ref: owner.user.id });
      expect(referee.edge?.kind).toBe('intentional');
      run.edges.push({
        id: referee.edge!.id,
        refereeId: referee.user.id,
        earnings: { priced: {}, earned: NO_EARNINGS },
        firstPaymentAt: null,
        held: false,
        voided: false,
        queue: [],
      });
    }
  }
  return run;
}

/** What the edge workflow does with a payment or refund message once the edge is not held. */
async function deliver(run: Run, e: number, dup: boolean): Promise<void> {
  const edge = run.edges[e]!;
  if (edge.held || edge.voided) return;
  const activities = commission();
  for (const item of edge.queue.splice(0)) {
    if ('refundId' in item) {
      const change = applyRefund(edge.earnings, item);
      if (change === null) throw new Error('a refund arrived before its payment was priced');
      if (change.post) {
        await activities.clawBackCommission({ ...change.post, edgeId: edge.id });
        if (dup) await activities.clawBackCommission({ ...change.post, edgeId: edge.id }); // the activity retried
        figures.clawbacks += 1;
      }
      edge.earnings = change.next;
      continue;
    }
    const price = () =>
      activities.pricePayments({ edgeId: edge.id, firstPaymentAt: edge.firstPaymentAt, payments: [item] });
    const [priced] = await price();
    if (dup) expect(await price()).toEqual([priced]); // priced once: a retry answers the recorded pricing
    const c = priced!.status === 'earned' ? priced! : null;
    edge.earnings = recordPricedPayment(edge.earnings, item, c, Date.now());
    if (c && edge.firstPaymentAt === null) edge.firstPaymentAt = item.paidAt;
  }
}

async function step(run: Run, model: Model, c: Command): Promise<void> {
  const activities = commission();
  if (c.dup) figures.duplicates += 1;
  switch (c.kind) {
    case 'pay': {
      const edge = run.edges[c.edge]!;
      const paymentId = `pm-${run.id}-${run.payments.length}`;
      const input = { paymentId, userId: edge.refereeId, amountCents: c.amount, currency: 'USD' as const };
      const first = await recordPayment({ db: database.db }, input);
      expect(first.created).toBe(true);
      if (c.dup) expect((await recordPayment({ db: database.db }, input)).created).toBe(false);
      run.payments.push({ id: paymentId, edge: c.edge, amount: c.amount, refunded: 0 });
      const paidAt = first.view.payment.paid_at.toISOString();
      if (!edge.voided) edge.queue.push({ paymentId, amountCents: c.amount, paidAt });
      await deliver(run, c.edge, c.dup);
      // The model: a payment to a voided edge earns nothing; a held one waits.
      const ix = model.payments.length;
      const me = model.edges[c.edge]!;
      model.payments.push(
        me.voided
          ? null
          : { edge: c.edge, amount: c.amount, refunded: 0, priced: false, released: false, voided: false },
      );
      if (!me.voided) me.queued.push({ payment: ix });
      modelDeliver(model, c.edge);
      return;
    }
    case 'refund': {
      if (run.payments.length === 0) return;
      const pi = c.payment % run.payments.length;
      const payment = run.payments[pi]!;
      const left = payment.amount - payment.refunded;
      if (left === 0) return;
      const cents = c.full ? left : Math.max(1, Math.floor(left * c.share));
      const refundId = `rf-${run.id}-${figures.steps}`;
      const input = { refundId, paymentId: payment.id, amountCents: cents };
      const first = await recordRefund({ db: database.db }, input);
      expect(first.created).toBe(true);
      if (c.dup) expect((await recordRefund({ db: database.db }, input)).created).toBe(false);
      payment.refunded += cents;
      const edge = run.edges[payment.edge]!;
      if (!edge.voided) edge.queue.push({ refundId, paymentId: payment.id, amountCents: cents });
      await deliver(run, payment.edge, c.dup);
      const me = model.edges[payment.edge]!;
      if (!me.voided && model.payments[pi]) me.queued.push({ refund: pi, cents });
      modelDeliver(model, payment.edge);
      return;
    }
    case 'hold':
    case 'clear':
    case 'void': {
      const edge = run.edges[c.edge]!;
      const input = {
        verdictId: `v-${run.id}-${figures.steps}`,
        edgeId: edge.id,
        verdict: c.kind,
        reason: 'model',
        decidedBy: 'model',
      };
      expect((await recordVerdict({ db: database.db }, input)).created).toBe(true);
      if (c.dup) expect((await recordVerdict({ db: database.db }, input)).created).toBe(false);
      const me = model.edges[c.edge]!;
      if (edge.voided) return; // the workflow ended with the void
      if (c.kind === 'hold') edge.held = me.held = true;
      else if (c.kind === 'clear') {
        edge.held = me.held = false;
        await deliver(run, c.edge, c.dup);
        modelDeliver(model, c.edge);
      } else {
        const { posts, next } = voidAll(edge.earnings);
        for (const post of posts) {
          await activities.clawBackCommission({ ...post, edgeId: edge.id });
          if (c.dup) await activities.clawBackCommission({ ...post, edgeId: edge.id });
          figures.clawbacks += 1;
        }
        edge.earnings = next;
        edge.voided = me.voided = true;
        edge.held = me.held = false;
        edge.queue = me.queued = [];
        for (const p of model.payments) if (p && p.edge === c.edge) p.voided = true;
      }
      return;
    }
    case 'release': {
      const edge = run.edges[c.edge]!;
      const me = model.edges[c.edge]!;
      if (edge.held || edge.voided) return; // a hold stops the clock; a void ended the edge
      for (const { paymentId } of pendingReleases(edge.earnings)) {
        const change = release(edge.earnings, paymentId, Number.POSITIVE_INFINITY);
        if (!change) continue;
        await activities.releaseCommission({ ...change.post, edgeId: edge.id });
        if (c.dup) await activities.releaseCommission({ ...change.post, edgeId: edge.id });
        edge.earnings = change.next;
      }
      if (!me.held && !me.voided)
        for (const p of model.payments) if (p && p.priced && p.edge === c.edge) p.released = true;
      return;
    }
    case 'payout': {
      const cycleId = `cycle-${run.id}-${figures.steps}`;
      // Each cycle in a period of its own, so every partner is due in each.
      const at = new Date(Date.UTC(2040, cyclesOpened++, 15)).toISOString();
      const pay = payouts();
      await pay.openPayoutCycle({ cycleId, frequencies: ['monthly'], trigger: 'manual', requestedBy: 'model' });
      const page = { cycleId, frequencies: ['monthly' as const], at, after: null, limit: 100 };
      const result = (await new MockActivityEnvironment().run(pay.payPage, page)) as { paid: number };
      if (c.dup) await new MockActivityEnvironment().run(pay.payPage, page); // the page run again: resumes, pays nothing twice
      await pay.closePayoutCycle({ cycleId });
      figures.payouts += result.paid;
      for (let i = 0; i < PARTNERS; i++) {
        const { payable } = modelBalances(model, i);
        if (payable >= THRESHOLD && payable > 0) model.paidOut[i]! += payable;
      }
      return;
    }
  }
}

function modelDeliver(model: Model, e: number): void {
  const me = model.edges[e]!;
  if (me.held || me.voided) return;
  for (const item of me.queued.splice(0)) {
    if ('refund' in item) model.payments[item.refund]!.refunded += item.cents;
    else model.payments[item.payment]!.priced = true;
  }
}

const sumsByCurrency = () =>
  database.db.any(sql.type(z.object({ currency: z.string(), total: z.number(), drift: z.number() }))`
    SELECT a.currency, coalesce(sum(e.amount), 0)::int8 AS total,
           (SELECT count(*) FROM ledger_balances b WHERE b.currency = a.currency
              AND b.balance <> coalesce((SELECT sum(x.amount) FROM ledger_entries x WHERE x.account_id = b.id), 0))::int8 AS drift
    FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.currency`);

async function check(run: Run, model: Model, after: string): Promise<void> {
  for (let i = 0; i < PARTNERS; i++) {
    const { tenantId, ownerId } = run.partners[i]!;
    const [pending, payable, paid, credits] = await Promise.all([
      balanceOf(database.db, partnerEarnings(tenantId, 'pending')),
      balanceOf(database.db, partnerEarnings(tenantId, 'payable')),
      balanceOf(database.db, partnerEarnings(tenantId, 'paid')),
      balanceOf(database.db, userCredits(ownerId)),
    ]);
    const expected = modelBalances(model, i);
    const actual = { pending, payable, paid, credits };
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      figures.violations += 1;
      expect({ after, partner: i, ...actual }).toEqual({ after, partner: i, ...expected });
    }
  }
  for (const row of await sumsByCurrency()) {
    if (row.total !== 0 || row.drift !== 0) {
      figures.violations += 1;
      expect({ after, ...row }).toEqual({ after, currency: row.currency, total: 0, drift: 0 });
    }
  }
}

describe('ledger conservation, model-based', () => {
  it('the real ledger and the model agree after every step; the double entry sums to zero', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40 }), async (commands) => {
        figures.sequences += 1;
        const run = await setUp();
        const model: Model = {
          payments: [],
          edges: Array.from({ length: EDGES }, () => ({ held: false, voided: false, queued: [] })),
          paidOut: Array.from({ length: PARTNERS }, () => 0),
        };
        for (const [i, c] of commands.entries()) {
          figures.steps += 1;
          await step(run, model, c);
          await check(run, model, `step ${i} ${JSON.stringify(c)}`);
        }
        expect(fake.duplicateTransfers()).toBe(0);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    console.log(
      `ledger model: ${figures.sequences} sequences, ${figures.steps} steps, ${figures.duplicates} duplicates, ` +
        `${figures.payouts} payouts, ${figures.clawbacks} clawbacks, ${fake.duplicateTransfers()} duplicate transfers, ` +
        `${figures.violations} violations`,
    );
    expect(figures.violations).toBe(0);
  }, 300_000);
});
