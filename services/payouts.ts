// Finance's side of payouts: preview a cycle (nothing moves), start one by hand (never a second
// while one runs), follow it, mark manual payouts paid. The API and the finance CLI both call
// these. (Stripe's own messages about Connect accounts: services/stripe-webhooks.ts.)
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { decidePayout, periodsOf } from '../domain/payouts.ts';
import { PAYOUT_FREQUENCIES, type PayoutFrequency } from '../domain/partner-settings.ts';
import { payoutPosting } from '../domain/ledger-postings.ts';
import { manualCycleId, payoutCycleStart, payoutCycleWorkflowId } from '../contracts/payout-cycle.ts';
import { startOnce } from '../platform/workflow-delivery.ts';
import { postTransaction } from '../db/ledger.ts';
import {
  cycleItems,
  cycleTotals,
  findCycle,
  findPayout,
  markPayoutsPaid,
  partnerPage,
  runningCycle,
  type CycleItemRow,
  type CycleRow,
  type PayoutRow,
} from '../db/payouts.ts';
import { conflict, notFound } from './errors.ts';

export type PayoutServiceDeps = { db: DatabasePool; temporal: Client; taskQueue: string };

export type PreviewItem = {
  tenantId: string;
  period: string;
  outcome: 'would_pay' | 'in_progress' | 'rolled_forward' | 'skipped';
  rail: 'stripe' | 'manual' | null;
  amountCents: number;
  reason: string | null;
};
export type Preview = {
  at: string;
  frequencies: PayoutFrequency[];
  totals: {
    partners: number;
    wouldPay: number;
    wouldPayCents: number;
    rolledForward: number;
    skipped: number;
    inProgress: number;
  };
  items: PreviewItem[];
};

/** Who a cycle would pay now, how much, and who rolls forward or is skipped and why. Nothing moves. */
export async function previewCycle(
  deps: Pick<PayoutServiceDeps, 'db'>,
  input: { frequencies?: PayoutFrequency[] | undefined; at?: Date },
): Promise<Preview> {
  const at = input.at ?? new Date();
  const frequencies = input.frequencies ?? [...PAYOUT_FREQUENCIES];
  const periods = periodsOf(frequencies, at);
  const items: PreviewItem[] = [];
  for (let after: string | null = null; ;) {
    const page = await partnerPage(deps.db, { periods, after, limit: 1_000 });
    if (page.length === 0) break;
    for (const p of page) {
      const d = decidePayout(p.snapshot);
      const base = { tenantId: p.tenantId, period: p.period };
      if (d.action === 'pay')
        items.push({ ...base, outcome: 'would_pay', rail: d.rail, amountCents: d.amountCents, reason: null });
      else if (d.action === 'resume')
        items.push({
          ...base,
          outcome: 'in_progress',
          rail: 'stripe',
          amountCents: 0,
          reason: 'a payout of this period is being sent',
        });
      else
        items.push({
          ...base,
          outcome: d.action === 'roll_forward' ? 'rolled_forward' : 'skipped',
          rail: null,
          amountCents: d.availableCents,
          reason: d.reason,
        });
    }
    after = page.at(-1)!.tenantId;
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
export async function startCycle(
  deps: PayoutServiceDeps,
  input: { requestedBy: string; frequencies?: PayoutFrequency[] | undefined },
): Promise<{ cycleId: string; workflowId: string }> {
  const running = await runningCycle(deps.db);
  if (running)
    throw conflict(
      'cycle_running',
      `Payout cycle ${running.id} is running; wait for it to finish (GET /v1/payout-cycles/${running.id}).`,
    );
  const cycleId = manualCycleId(new Date());
  await startOnce(
    deps.temporal,
    payoutCycleStart(cycleId, {
      frequencies: input.frequencies ?? [...PAYOUT_FREQUENCIES],
      trigger: 'manual',
      requestedBy: input.requestedBy,
    }),
    deps.taskQueue,
  );
  return { cycleId, workflowId: payoutCycleWorkflowId(cycleId) };
}

export type CycleView = {
  cycle: CycleRow;
  totals: readonly { outcome: string; partners: number; amount_cents: number }[];
  items: readonly CycleItemRow[];
  nextCursor: string | null;
};

export async function getCycle(
  deps: Pick<PayoutServiceDeps, 'db'>,
  cycleId: string,
  page: { after?: string | undefined; limit?: number | undefined } = {},
): Promise<CycleView> {
  const cycle = await findCycle(deps.db, cycleId);
  if (!cycle)
    throw notFound(
      'cycle_not_found',
      `No payout cycle ${cycleId} (a cycle just started appears once its workflow opened it).`,
    );
  const limit = page.limit ?? 100;
  const [totals, items] = await Promise.all([
    cycleTotals(deps.db, cycleId),
    cycleItems(deps.db, cycleId, page.after ?? null, limit),
  ]);
  return { cycle, totals, items, nextCursor: items.length === limit ? items.at(-1)!.tenant_id : null };
}

/**
 * Finance paid a manual payout (PayPal, bank transfer, by hand): payable -> paid in the ledger and
 * the payout marked paid, in one transaction. A repeat with the same reference answers the same;
 * nothing is ever marked paid twice.
 */
export async function markPaid(
  deps: Pick<PayoutServiceDeps, 'db'>,
  input: { payoutId: string; reference: string; markedBy: string },
): Promise<PayoutRow> {
  return deps.db.transaction(async (tx) => {
    const payout = await findPayout(tx, input.payoutId, true);
    if (!payout) throw notFound('payout_not_found', `No payout ${input.payoutId}.`);
    if (payout.status === 'paid') {
      if (payout.reference === input.reference) return payout;
      throw conflict(
        'payout_already_paid',
        `Payout ${payout.id} was already marked paid (reference ${payout.reference ?? 'none'}).`,
      );
    }
    if (payout.status !== 'awaiting_manual')
      throw conflict(
        'payout_not_manual',
        `Payout ${payout.id} is ${payout.status}; only manual payouts awaiting payment are marked paid by hand.`,
      );
    await postTransaction(
      tx,
      payoutPosting({ payoutId: payout.id, tenantId: payout.tenant_id, amountCents: payout.amount_cents })!,
    );
    await markPayoutsPaid(tx, [payout.id], { reference: input.reference, markedBy: input.markedBy });
    return (await findPayout(tx, payout.id))!;
  });
}
