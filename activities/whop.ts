// The Whop reconciliation's one side effect: one page of one stream (payments or refunds) since the
// stream's cursor, each item recorded the way its webhook would have been (idempotent by Whop's id,
// so a re-poll changes nothing), Whop's affiliate fee kept beside each attributed payment, then the
// cursor moved past the page, in PostgreSQL. A 429 fails the attempt with Whop's retry hint as the
// next retry's delay: the cursor has not moved, so the retry asks for the same page.
import { ApplicationFailure } from '@temporalio/common';
import type { DatabasePool } from 'slonik';
import type { WhopPageOutcome, WhopStream } from '../contracts/whop-reconciliation.ts';
import {
  affiliateFeeWanted,
  ingestPaymentOfWhop,
  ingestRefundOfWhop,
  readCursor,
  recordIssue,
  recurringOverrides,
  saveOverride,
  setAffiliateFee,
  writeCursor,
} from '../db/whop.ts';
import { WhopRateLimited, type WhopClient } from '../platform/whop.ts';
import { overrideWindowOpen } from '../domain/whop.ts';

export type WhopActivities = ReturnType<typeof createWhopActivities>;

const later = (a: string | null, b: string) => (a && a > b ? a : b);

export function createWhopActivities({ db, whop }: { db: DatabasePool; whop: WhopClient | null }) {
  async function paymentsPage(first: number): Promise<WhopPageOutcome> {
    const cursor = await readCursor(db, 'payments');
    const page = await whop!.listPayments({ since: cursor.since, after: cursor.after, first });
    const out = { stream: 'payments' as const, items: page.items.length, recorded: 0, known: 0, issues: 0 };
    let newest = cursor.since;
    for (const payment of page.items) {
      newest = later(newest, payment.createdAt);
      const outcome = await ingestPaymentOfWhop(db, payment);
      if (outcome === 'recorded') out.recorded += 1;
      else if (outcome === 'already_recorded') out.known += 1;
      else if (outcome !== 'not_paid') out.issues += 1;
      if (outcome !== 'recorded' && outcome !== 'already_recorded') continue;
      // Attributed payments: what Whop paid its affiliate (asked once), compared with our ledger when listed.
      if (await affiliateFeeWanted(db, payment.id))
        await setAffiliateFee(db, payment.id, await whop!.affiliateFeeCents(payment.id));
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
        return await closeOverrideWindows();
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
