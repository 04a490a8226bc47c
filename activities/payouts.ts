// The side effects of a payout cycle. `payPage` pays one page of partners: it decides each one
// (domain/payouts.ts), writes the payouts it will make, sends the Stripe transfers with bounded
// concurrency (idempotency key: the payout id), then moves each sent payout payable -> paid in the
// ledger (key: the payout id). Killed anywhere and run again, it resumes the payouts already
// written: Stripe answers a repeated key with the first transfer, the ledger writes a key once.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DatabasePool } from 'slonik';
import type Stripe from 'stripe';
import { classifyTransferFailure, decidePayout, payoutId, periodsOf, type TransferFailure } from '../domain/payouts.ts';
import type { PayoutFrequency } from '../domain/partner-settings.ts';
import { NO_CYCLE_TOTALS, type CycleTotals } from '../contracts/payout-cycle.ts';
import { payoutPosting } from '../domain/ledger-postings.ts';
import { postTransactions } from '../db/ledger.ts';
import {
  closeCycle,
  findCycle,
  insertPayouts,
  markPayoutFailed,
  markPayoutsPaid,
  openCycle,
  partnerPage,
  payoutsById,
  recordItems,
  recordTransfer,
  type CycleItem,
  type NewPayout,
  type PayoutRow,
} from '../db/payouts.ts';
import { rateLimiter } from '../platform/stripe.ts';

export type PayoutDeps = {
  db: DatabasePool;
  stripe: Stripe | null;
  stripeRateLimitPerSecond: number;
  concurrency: number;
};
export type PayoutActivities = ReturnType<typeof createPayoutActivities>;

/** A page paid: its totals, and the last partner on it (the next page starts after it). */
export type PageResult = CycleTotals & { last: string | null };

/** One page of a cycle: the partners due at `at`, after `after`, at most `limit`. */
export type PageRequest = {
  cycleId: string;
  frequencies: PayoutFrequency[];
  at: string;
  after: string | null;
  limit: number;
};

/** The cycle is gone (its row deleted by hand): no retry brings it back. */
const cycleMissing = (cycleId: string) =>
  ApplicationFailure.nonRetryable(`payout cycle ${cycleId} is not recorded`, 'PayoutCycleNotFound');

export function createPayoutActivities(deps: PayoutDeps) {
  const limit = rateLimiter(deps.stripeRateLimitPerSecond);

  /** One transfer; null when Stripe refused it for good (recorded on the payout). */
  async function transfer(payout: PayoutRow): Promise<string | null> {
    if (payout.stripe_transfer_id) return payout.stripe_transfer_id;
    if (!deps.stripe) {
      await markPayoutFailed(deps.db, payout.id, 'stripe_not_configured', 'STRIPE_SECRET_KEY is not set on the worker');
      return null;
    }
    await limit.take();
    try {
      const t = await deps.stripe.transfers.create(
        {
          amount: payout.amount_cents,
          currency: 'usd',
          destination: payout.stripe_account_id!,
          transfer_group: payout.cycle_id,
          metadata: { payout_id: payout.id, tenant_id: payout.tenant_id, period: payout.period },
        },
        { idempotencyKey: `payout:${payout.id}` },
      );
      await recordTransfer(deps.db, payout.id, t.id);
      return t.id;
    } catch (err) {
      const e = err as TransferFailure;
      const kind = classifyTransferFailure(e);
      if ('refused' in kind) {
        await markPayoutFailed(deps.db, payout.id, kind.refused, e.message ?? 'refused by Stripe');
        return null;
      }
      if ('credentials' in kind)
        throw ApplicationFailure.nonRetryable(
          `Stripe refused the worker's key (${e.statusCode}): ${e.message ?? ''}`,
          'StripeCredentialsRefused',
        );
      throw err;
    }
  }

  return {
    async openPayoutCycle(input: {
      cycleId: string;
      frequencies: PayoutFrequency[];
      trigger: 'schedule' | 'manual';
      requestedBy: string;
    }): Promise<{ opened: true } | { opened: false; runningCycleId: string }> {
      const result = await openCycle(deps.db, {
        id: input.cycleId,
        frequencies: input.frequencies,
        trigger: input.trigger,
        requestedBy: input.requestedBy,
      });
      if ('opened' in result) return { opened: true };
      return { opened: false, runningCycleId: result.running.id };
    },

    /** `failed`: a page could not be paid; the cycle ends without claiming it paid everyone. */
    async closePayoutCycle(input: { cycleId: string; failed?: boolean }): Promise<void> {
      if (!(await closeCycle(deps.db, input.cycleId, input.failed ? 'failed' : 'completed')))
        throw cycleMissing(input.cycleId);
    },

    async payPage(input: PageRequest): Promise<PageResult> {
      // The heartbeat says this worker is alive: a dead one is noticed within the heartbeat
      // timeout and the page runs again elsewhere, resuming the payouts it wrote.
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 1_000);
      try {
        return await payPage(input);
      } finally {
        clearInterval(beat);
      }
    },
  };

  async function payPage(input: PageRequest): Promise<PageResult> {
    // Payouts and outcomes reference their cycle: without it no write of this page can succeed.
    if (!(await findCycle(deps.db, input.cycleId))) throw cycleMissing(input.cycleId);
    const partners = await partnerPage(deps.db, {
      periods: periodsOf(input.frequencies, new Date(input.at)),
      after: input.after,
      limit: input.limit,
    });
    const result: PageResult = { ...NO_CYCLE_TOTALS, seen: partners.length, last: partners.at(-1)?.tenantId ?? null };
    if (partners.length === 0) return result;

    const items: CycleItem[] = [];
    const toWrite: NewPayout[] = [];
    const toPay: string[] = [];
    for (const { tenantId, period, snapshot: s } of partners) {
      const id = payoutId(tenantId, period);
      const decision = decidePayout(s);
      if (decision.action === 'resume') toPay.push(id);
      else if (decision.action === 'pay') {
        const rail = decision.rail;
        toWrite.push({
          id,
          cycleId: input.cycleId,
          tenantId,
          period,
          amountCents: decision.amountCents,
          method: s.method,
          status: rail === 'stripe' ? 'processing' : 'awaiting_manual',
          stripeAccountId: rail === 'stripe' ? s.stripeAccountId : null,
          stripeAccountStatus: rail === 'stripe' ? s.stripeAccountStatus : null,
        });
        if (rail === 'stripe') toPay.push(id);
        else
          items.push({
            tenantId,
            outcome: 'awaiting_manual',
            reason: `pay by ${s.method}, then mark paid`,
            amountCents: decision.amountCents,
            payoutId: id,
          });
      } else {
        items.push({
          tenantId,
          outcome: decision.action === 'roll_forward' ? 'rolled_forward' : 'skipped',
          reason: decision.reason,
          amountCents: decision.availableCents,
          payoutId: null,
        });
      }
    }
    // The amounts are fixed before any money moves.
    await insertPayouts(deps.db, toWrite);
    await recordItems(deps.db, input.cycleId, items);

    // Transfers with bounded concurrency. The heartbeat says this worker is alive (a dead one is
    // noticed within the heartbeat timeout and the page runs again elsewhere).
    const payouts = (await payoutsById(deps.db, toPay)).filter((p) => p.status === 'processing');
    const sent: PayoutRow[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(deps.concurrency, payouts.length) }, async () => {
        while (next < payouts.length) {
          const payout = payouts[next++]!;
          if (await transfer(payout)) sent.push(payout);
        }
      }),
    );

    // Sent payouts: payable -> paid in the ledger and marked paid, in one transaction.
    await deps.db.transaction(async (tx) => {
      await postTransactions(
        tx,
        sent.flatMap(
          (p) => payoutPosting({ payoutId: p.id, tenantId: p.tenant_id, amountCents: p.amount_cents }) ?? [],
        ),
      );
      await markPayoutsPaid(
        tx,
        sent.map((p) => p.id),
      );
      await recordItems(
        tx,
        input.cycleId,
        sent.map((p) => ({
          tenantId: p.tenant_id,
          outcome: 'paid',
          reason: null,
          amountCents: p.amount_cents,
          payoutId: p.id,
        })),
      );
    });
    const failed = (await payoutsById(deps.db, toPay)).filter((p) => p.status === 'failed');
    await recordItems(
      deps.db,
      input.cycleId,
      failed.map((p) => ({
        tenantId: p.tenant_id,
        outcome: 'failed',
        reason: p.failure_code,
        amountCents: p.amount_cents,
        payoutId: p.id,
      })),
    );

    result.paid = sent.length;
    result.paidCents = sent.reduce((s, p) => s + p.amount_cents, 0);
    result.failed = failed.length;
    result.awaitingManual = items.filter((i) => i.outcome === 'awaiting_manual').length;
    result.rolledForward = items.filter((i) => i.outcome === 'rolled_forward').length;
    result.skipped = items.filter((i) => i.outcome === 'skipped').length;
    return result;
  }
}
