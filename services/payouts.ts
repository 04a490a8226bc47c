// Finance's side of payouts: preview a cycle (nothing moves), start one by hand (never a second
// while one runs), follow it, mark manual payouts paid; and Stripe's webhooks keeping Connect
// account status current. The API and the finance CLI both call these.
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { DatabasePool } from 'slonik';
import type Stripe from 'stripe';
import { decidePayout, periodOf } from '../domain/payouts.ts';
import { PAYOUT_FREQUENCIES, type PayoutFrequency } from '../domain/partner-settings.ts';
import { payoutPosting } from '../domain/ledger-postings.ts';
import { postTransaction } from '../db/ledger.ts';
import { cycleItems, cycleTotals, findCycle, findPayout, markPayoutsPaid, partnerPage, recordStripeEvent, runningCycle, setStripeAccountStatus, type CycleItemRow, type CycleRow, type PayoutRow } from '../db/payouts.ts';
import { conflict, invalid, notFound } from './errors.ts';

export type PayoutServiceDeps = { db: DatabasePool; temporal: Client; taskQueue: string };

export type PreviewItem = { tenantId: string; period: string; outcome: 'would_pay' | 'in_progress' | 'rolled_forward' | 'skipped'; rail: 'stripe' | 'manual' | null; amountCents: number; reason: string | null };
export type Preview = { at: string; frequencies: PayoutFrequency[]; totals: { partners: number; wouldPay: number; wouldPayCents: number; rolledForward: number; skipped: number; inProgress: number }; items: PreviewItem[] };

/** Who a cycle would pay now, how much, and who rolls forward or is skipped and why. Nothing moves. */
export async function previewCycle(deps: Pick<PayoutServiceDeps, 'db'>, input: { frequencies?: PayoutFrequency[] | undefined; at?: Date }): Promise<Preview> {
  const at = input.at ?? new Date();
  const frequencies = input.frequencies ?? [...PAYOUT_FREQUENCIES];
  const periods = Object.fromEntries(frequencies.map((f) => [f, periodOf(f, at)]));
  const items: PreviewItem[] = [];
  for (let after: string | null = null; ;) {
    const page = await partnerPage(deps.db, { periods, after, limit: 1_000 });
    if (page.length === 0) break;
    for (const p of page) {
      const d = decidePayout({
        method: p.payout_method, thresholdCents: p.payout_threshold_cents, payableCents: p.payable, inFlightCents: p.in_flight,
        stripeAccountId: p.stripe_account_id, stripeAccountStatus: p.stripe_account_status, thisPeriod: p.this_period_status ? { status: p.this_period_status } : null,
      });
      const base = { tenantId: p.tenant_id, period: p.period };
      if (d.action === 'pay') items.push({ ...base, outcome: 'would_pay', rail: d.rail, amountCents: d.amountCents, reason: null });
      else if (d.action === 'resume') items.push({ ...base, outcome: 'in_progress', rail: 'stripe', amountCents: 0, reason: 'a payout of this period is being sent' });
      else items.push({ ...base, outcome: d.action === 'roll_forward' ? 'rolled_forward' : 'skipped', rail: null, amountCents: d.availableCents, reason: d.reason });
    }
    after = page.at(-1)!.tenant_id;
  }
  const pay = items.filter((i) => i.outcome === 'would_pay');
  return {
    at: at.toISOString(),
    frequencies,
    totals: {
      partners: items.length,
      wouldPay: pay.length,
      wouldPayCents: pay.reduce((s, i) => s + i.amountCents, 0),
      rolledForward: items.filter((i) => i.outcome === 'rolled_forward').length,
      skipped: items.filter((i) => i.outcome === 'skipped').length,
      inProgress: items.filter((i) => i.outcome === 'in_progress').length,
    },
    items,
  };
}

/** Starts a cycle over every frequency, for partners not yet paid this period; refused while one runs. */
export async function startCycle(deps: PayoutServiceDeps, input: { requestedBy: string; frequencies?: PayoutFrequency[] | undefined }): Promise<{ cycleId: string; workflowId: string }> {
  const running = await runningCycle(deps.db);
  if (running) throw conflict('cycle_running', `Payout cycle ${running.id} is running; wait for it to finish (GET /v1/payout-cycles/${running.id}).`);
  const cycleId = `manual-${new Date().toISOString()}`;
  const workflowId = `payout-cycle:${cycleId}`;
  await deps.temporal.workflow.start('payoutCycle', {
    workflowId,
    taskQueue: deps.taskQueue,
    args: [{ frequencies: input.frequencies ?? [...PAYOUT_FREQUENCIES], trigger: 'manual', requestedBy: input.requestedBy }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  });
  return { cycleId, workflowId };
}

export type CycleView = { cycle: CycleRow; totals: readonly { outcome: string; partners: number; amount_cents: number }[]; items: readonly CycleItemRow[]; nextCursor: string | null };

export async function getCycle(deps: Pick<PayoutServiceDeps, 'db'>, cycleId: string, page: { after?: string | undefined; limit?: number | undefined } = {}): Promise<CycleView> {
  const cycle = await findCycle(deps.db, cycleId);
  if (!cycle) throw notFound('cycle_not_found', `No payout cycle ${cycleId} (a cycle just started appears once its workflow opened it).`);
  const limit = page.limit ?? 100;
  const [totals, items] = await Promise.all([cycleTotals(deps.db, cycleId), cycleItems(deps.db, cycleId, page.after ?? null, limit)]);
  return { cycle, totals, items, nextCursor: items.length === limit ? items.at(-1)!.tenant_id : null };
}

/**
 * Finance paid a manual payout (PayPal, bank transfer, by hand): payable -> paid in the ledger and
 * the payout marked paid, in one transaction. A repeat with the same reference answers the same;
 * nothing is ever marked paid twice.
 */
export async function markPaid(deps: Pick<PayoutServiceDeps, 'db'>, input: { payoutId: string; reference: string; markedBy: string }): Promise<PayoutRow> {
  return deps.db.transaction(async (tx) => {
    const payout = await findPayout(tx, input.payoutId, true);
    if (!payout) throw notFound('payout_not_found', `No payout ${input.payoutId}.`);
    if (payout.status === 'paid') {
      if (payout.reference === input.reference) return payout;
      throw conflict('payout_already_paid', `Payout ${payout.id} was already marked paid (reference ${payout.reference ?? 'none'}).`);
    }
    if (payout.status !== 'awaiting_manual') throw conflict('payout_not_manual', `Payout ${payout.id} is ${payout.status}; only manual payouts awaiting payment are marked paid by hand.`);
    await postTransaction(tx, payoutPosting({ payoutId: payout.id, tenantId: payout.tenant_id, amountCents: payout.amount_cents })!);
    await markPayoutsPaid(tx, [payout.id], { reference: input.reference, markedBy: input.markedBy });
    return (await findPayout(tx, payout.id))!;
  });
}

/** The Connect account status our payout rule reads, from Stripe's account object. */
export function connectStatus(account: Pick<Stripe.Account, 'payouts_enabled' | 'details_submitted' | 'requirements'>): string {
  if (account.payouts_enabled) return 'enabled';
  if (account.requirements?.disabled_reason) return account.requirements.disabled_reason.startsWith('rejected') ? 'disabled' : 'restricted';
  return account.details_submitted ? 'restricted' : 'pending';
}

export type WebhookDeps = { db: DatabasePool; stripe: Stripe | null; webhookSecret: string | null };

/** A Stripe webhook: signature checked, each event id handled once, account status kept current. */
export async function handleStripeWebhook(deps: WebhookDeps, rawBody: Buffer, signature: string | undefined): Promise<{ eventId: string; duplicate: boolean }> {
  if (!deps.stripe || !deps.webhookSecret) throw invalid('webhooks_not_configured', 'Stripe webhooks are not configured (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET).');
  if (!signature) throw invalid('signature_missing', 'The Stripe-Signature header is missing.');
  let event: Stripe.Event;
  try {
    event = deps.stripe.webhooks.constructEvent(rawBody, signature, deps.webhookSecret);
  } catch (err) {
    throw invalid('signature_invalid', `The Stripe signature does not verify: ${(err as Error).message}`);
  }
  return deps.db.transaction(async (tx) => {
    if (!(await recordStripeEvent(tx, event.id, event.type))) return { eventId: event.id, duplicate: true };
    if (event.type === 'account.updated') {
      const account = event.data.object as Stripe.Account;
      await setStripeAccountStatus(tx, account.id, connectStatus(account));
    }
    return { eventId: event.id, duplicate: false };
  });
}

