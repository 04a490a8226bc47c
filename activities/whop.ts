// The Whop reconciliation's one side effect: one page of one stream since the stream's cursor, then
// the cursor moved past the page, in PostgreSQL:
// - payments and refunds: each item recorded the way its webhook would have been (idempotent by
//   Whop's id, so a re-poll changes nothing);
// - overrides: a page of the company's affiliates, Whop's aggregate `total_referral_earnings_usd` of
//   each against what our whop rail mirrors for that affiliate; only an affiliate whose aggregate
//   disagrees costs more requests (its overrides' aggregates, and a bounded number of per-payment
//   affiliate fees, kept beside the payments, so payments Whop paid beyond our terms are listed),
//   and is listed as an issue until it agrees again; after the last page, recurring overrides whose
//   windows closed go back to the first payment.
// A 429 fails the attempt with Whop's retry hint as the next retry's delay: the cursor has not
// moved, so the retry asks for the same page.
import { ApplicationFailure } from '@temporalio/common';
import type { DatabasePool } from 'slonik';
import type { WhopPageOutcome, WhopStream } from '../contracts/whop-reconciliation.ts';
import {
  affiliateLedger,
  affiliatePaymentsWithoutFee,
  ingestPaymentOfWhop,
  ingestRefundOfWhop,
  readCursor,
  recordAffiliateMismatch,
  recordIssue,
  recurringOverrides,
  resolveAffiliateMismatches,
  saveOverride,
  setAffiliateFee,
  writeCursor,
} from '../db/whop.ts';
import { WhopRateLimited, type WhopClient } from '../platform/whop.ts';
import { overrideWindowOpen } from '../domain/whop.ts';

export type WhopActivities = ReturnType<typeof createWhopActivities>;

const later = (a: string | null, b: string) => (a && a > b ? a : b);

/** Payments of one page recorded at once (each its own transaction; one page's payments are distinct). */
const INGEST_CONCURRENCY = 4;
/** Per-payment affiliate fees asked for one disagreeing affiliate per pass, and for one page of affiliates. */
export const FEES_PER_AFFILIATE = 100;
export const FEES_PER_PAGE = 500;

async function inChunks<T, R>(items: readonly T[], size: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(each))));
  return out;
}

export function createWhopActivities({ db, whop }: { db: DatabasePool; whop: WhopClient | null }) {
  async function paymentsPage(first: number): Promise<WhopPageOutcome> {
    const cursor = await readCursor(db, 'payments');
    const page = await whop!.listPayments({ since: cursor.since, after: cursor.after, first });
    const out = { stream: 'payments' as const, items: page.items.length, recorded: 0, known: 0, issues: 0 };
    const newest = page.items.reduce<string | null>((n, p) => later(n, p.createdAt), cursor.since);
    // Fees are not asked per payment here: the affiliates' aggregates (the overrides stream) say where to look.
    for (const outcome of await inChunks(page.items, INGEST_CONCURRENCY, (p) => ingestPaymentOfWhop(db, p))) {
      if (outcome === 'recorded') out.recorded += 1;
      else if (outcome === 'already_recorded') out.known += 1;
      else if (outcome !== 'not_paid') out.issues += 1;
    }
    await writeCursor(
      db,
      'payments',
      page.endCursor ? { after: page.endCursor, since: cursor.since } : { after: null, since: newest },
    );
    return { ...out, done: page.endCursor === null };
  }

  async function refundsPage(first: number): Promise<WhopPageOutcome> {
    const cursor = await readCursor(db, 'refunds');
    const page = await whop!.listRefunds({ since: cursor.since, after: cursor.after, first });
    const out = { stream: 'refunds' as const, items: page.items.length, recorded: 0, known: 0, issues: 0 };
    let newest = cursor.since;
    for (const refund of page.items) {
      newest = later(newest, refund.createdAt);
      let outcome = await ingestRefundOfWhop(db, refund);
      if (outcome === 'unknown_payment' && refund.paymentId) {
        const payment = await ingestPaymentOfWhop(db, await whop!.retrievePayment(refund.paymentId));
        if (payment === 'recorded' || payment === 'already_recorded') outcome = await ingestRefundOfWhop(db, refund);
      }
      if (outcome === 'unknown_payment')
        await recordIssue(db, 'refund_of_unknown_payment', refund.id, { paymentId: refund.paymentId });
      if (outcome === 'recorded') out.recorded += 1;
      else if (outcome === 'already_recorded') out.known += 1;
      else if (outcome !== 'not_succeeded') out.issues += 1;
    }
    await writeCursor(
      db,
      'refunds',
      page.endCursor ? { after: page.endCursor, since: cursor.since } : { after: null, since: newest },
    );
    return { ...out, done: page.endCursor === null };
  }

  /**
   * One page of affiliates: Whop's aggregate of each against our whop rail. One that disagrees (and
   * whose payments are all priced: an unpriced one waits for its edge's workflow) gets its overrides'
   * aggregates and up to FEES_PER_AFFILIATE per-payment fees asked, and is listed; one that agrees is
   * taken off the list. The last page also closes the override windows.
   */
  async function affiliatesPage(first: number): Promise<WhopPageOutcome> {
    const cursor = await readCursor(db, 'affiliates');
    const page = await whop!.listAffiliates({ after: cursor.after, first });
    const ours = new Map(
      (
        await affiliateLedger(
          db,
          page.items.map((a) => a.id),
        )
      ).map((r) => [r.affiliate_id, r]),
    );
    const out = { stream: 'overrides' as const, items: page.items.length, recorded: 0, known: 0, issues: 0 };
    const agreeing: string[] = [];
    let feeBudget = FEES_PER_PAGE;
    for (const affiliate of page.items) {
      const ledger = ours.get(affiliate.id);
      if (!ledger) {
        // Not one we minted: only worth listing when Whop paid it something.
        if (affiliate.earnedCents > 0) {
          await recordIssue(db, 'unknown_affiliate', affiliate.id, { whopEarnedCents: affiliate.earnedCents });
          out.issues += 1;
        } else out.known += 1;
        continue;
      }
      if (ledger.ledger_cents === affiliate.earnedCents) {
        agreeing.push(affiliate.id);
        out.known += 1;
        continue;
      }
      if (ledger.unpriced > 0) continue;
      const overrides = await whop!.listOverrides(affiliate.id);
      const unasked = await affiliatePaymentsWithoutFee(db, ledger.user_id, Math.min(FEES_PER_AFFILIATE, feeBudget));
      for (const paymentId of unasked) await setAffiliateFee(db, paymentId, await whop!.affiliateFeeCents(paymentId));
      feeBudget -= unasked.length;
      await recordAffiliateMismatch(db, affiliate.id, {
        whopEarnedCents: affiliate.earnedCents,
        ledgerWhopRailCents: ledger.ledger_cents,
        overrides: overrides.map((o) => ({ overrideId: o.id, planId: o.planId, whopEarnedCents: o.earnedCents })),
        feesAsked: unasked.length,
        feesLeftToAsk: (await affiliatePaymentsWithoutFee(db, ledger.user_id, 1)).length > 0,
      });
      out.issues += 1;
    }
    await resolveAffiliateMismatches(db, agreeing);
    const done = page.endCursor === null;
    if (done) {
      const closed = await closeOverrideWindows();
      out.recorded += closed.recorded;
    }
    await writeCursor(db, 'affiliates', { after: page.endCursor, since: null });
    return { ...out, done };
  }

  /** Recurring overrides whose every edge's window has closed go back to the first payment only. */
  async function closeOverrideWindows(): Promise<WhopPageOutcome> {
    const rows = await recurringOverrides(db);
    const byOverride = new Map<string, typeof rows>();
    for (const r of rows) byOverride.set(r.override_id, [...(byOverride.get(r.override_id) ?? []), r]);
    const out = { stream: 'overrides' as const, items: byOverride.size, recorded: 0, known: 0, issues: 0, done: true };
    for (const [overrideId, edges] of byOverride) {
      const open = overrideWindowOpen(
        edges
          .filter((e) => e.edge_id !== null)
          .map((e) => ({
            firstEarnedAt: e.first_earned_at,
            recurringMonths: e.recurring_months,
            voided: e.voided ?? false,
          })),
        new Date(),
      );
      if (open) {
        out.known += 1;
        continue;
      }
      const { user_id, affiliate_id, plan_id, commission_percent } = edges[0]!;
      const terms = { planId: plan_id, percent: commission_percent, appliesTo: 'first_payment' as const };
      await whop!.updateOverride(affiliate_id, overrideId, terms);
      await saveOverride(db, {
        userId: user_id,
        planId: plan_id,
        overrideId,
        percent: commission_percent,
        appliesTo: 'first_payment',
      });
      out.recorded += 1;
    }
    return out;
  }

  return {
    async reconcileWhopPage(input: { stream: WhopStream; pageSize: number }): Promise<WhopPageOutcome> {
      if (!whop) throw ApplicationFailure.nonRetryable('Whop is not configured (WHOP_API_KEY)', 'WhopNotConfigured');
      try {
        if (input.stream === 'payments') return await paymentsPage(input.pageSize);
        if (input.stream === 'refunds') return await refundsPage(input.pageSize);
        return await affiliatesPage(input.pageSize);
      } catch (err) {
        if (err instanceof WhopRateLimited)
          throw ApplicationFailure.create({
            message: err.message,
            type: 'WhopRateLimited',
            nextRetryDelay: Math.max(1, err.retryAfterMs),
          });
        throw err;
      }
    },
  };
}
