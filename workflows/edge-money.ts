// The money steps of an edge's workflow: each posts through the commission activities (one ledger
// transaction each, idempotent by its business key) what the rules in domain/edge-earnings.ts
// answer, and keeps the new state once it is posted.
import * as wf from '@temporalio/workflow';
import { commissionWindowEnd, type NotEligibleReason } from '../domain/commission.ts';
import {
  applyRefund,
  atGate,
  forfeit,
  pendingReleases,
  recordPricedPayment,
  release,
  voidAll,
} from '../domain/edge-earnings.ts';
import type { PaymentEvent, RefundEvent } from '../domain/lifecycle.ts';
import type { PricedCommission } from '../activities/commission.ts';
import { commission } from './edge-activities.ts';
import type { EdgeState } from './edge-state.ts';

/**
 * Beta-seeded commissions are released only through their retention gate (the referee still there:
 * no cancellation, refund or chargeback by then); workflows that released before the gate existed
 * keep replaying as they ran.
 */
export const RETENTION_GATE_PATCH = 'retention-gate-v1';
/**
 * Payments are priced at most this many per local activity (since this patch): an edge paid hundreds
 * of times while its worker was away keeps each pricing transaction short, well inside the activity's
 * timeout, instead of retrying one ever-larger batch; the rest wait for the next turn of the loop.
 */
export const PRICING_BATCH_PATCH = 'pricing-batches-v1';
export const PRICING_BATCH_SIZE = 25;

export function edgeMoney(edge: EdgeState, edgeId: string) {
  const { s, view } = edge;

  /** A priced payment in the edge's state; the first that earns opens the commission window. */
  function recordPricing(payment: PaymentEvent, priced: PricedCommission): void {
    edge.keep(recordPricedPayment(edge.earnings(), payment, priced.status === 'earned' ? priced : null, Date.now()));
    if (priced.status === 'not_eligible') return void (view.payments.notEligible += 1);
    view.payments.earning += 1;
    s.lastEarningAt = new Date(Date.now()).toISOString();
    if (view.firstPaymentAt !== null) return;
    view.firstPaymentAt = payment.paidAt;
    const end = commissionWindowEnd(priced.terms, new Date(payment.paidAt));
    view.commissionWindowEndsAt = end?.toISOString() ?? null;
    if (end === null || end.getTime() <= Date.now()) edge.enter('completed', 'refund_window');
    else edge.enter('earning', 'payments');
  }

  return {
    /** Prices every payment waiting, in arrival order, in one activity. */
    async priceWaitingPayments(): Promise<void> {
      const batch = s.payments.splice(0, wf.patched(PRICING_BATCH_PATCH) ? PRICING_BATCH_SIZE : s.payments.length);
      if (batch.length === 0) return;
      const results = await commission.pricePayments({
        edgeId,
        firstPaymentAt: view.firstPaymentAt,
        payments: batch.map((p) => ({ paymentId: p.paymentId, amountCents: p.amountCents, paidAt: p.paidAt })),
      });
      batch.forEach((payment, i) => recordPricing(payment, results[i]!));
    },

    /** Refunds whose payment this edge has priced, in arrival order; others wait for their payment. */
    async takeBackRefunds(): Promise<void> {
      const waiting: RefundEvent[] = [];
      for (const refund of s.refunds) {
        const change = applyRefund(edge.earnings(), refund);
        if (change === null) {
          waiting.push(refund);
          continue;
        }
        if (change.post) await commission.clawBackCommission({ ...change.post, edgeId });
        edge.keep(change.next);
      }
      s.refunds = waiting;
    },

    /**
     * Commission past its holding period becomes payable; a beta-seeded one only through its
     * retention gate, which forfeits it instead when the referee cancelled, refunded or charged back.
     */
    async releaseDueCommissions(): Promise<void> {
      for (const { paymentId } of pendingReleases(edge.earnings())) {
        const change = release(edge.earnings(), paymentId, Date.now());
        if (change === null) continue;
        const gate = view.kind === 'beta_auto' ? atGate(edge.earnings(), paymentId, Date.now()) : null;
        if (gate !== null && wf.patched(RETENTION_GATE_PATCH)) {
          const decision = await commission.settleRetentionGate({ ...gate, edgeId });
          if (decision.status === 'forfeited') {
            edge.keep(forfeit(edge.earnings(), paymentId, decision.reason)!.next);
            view.forfeited = [...(view.forfeited ?? []), { paymentId, reason: decision.reason, gateAt: gate.gateAt }];
            continue;
          }
        } else await commission.releaseCommission({ ...change.post, edgeId });
        edge.keep(change.next);
      }
    },

    /** A void: everything the payments still keep is taken back. */
    async takeBackEverything(): Promise<void> {
      const { posts, next } = voidAll(edge.earnings());
      for (const post of posts) await commission.clawBackCommission({ ...post, edgeId });
      edge.keep(next);
    },

    /** Payments that reached an edge that will never price them (it expired or was voided). */
    async markWaitingPaymentsNotEligible(reason: NotEligibleReason): Promise<void> {
      if (s.payments.length > 0)
        await commission.markPaymentsNotEligible({ paymentIds: s.payments.map((p) => p.paymentId), reason });
      s.payments = [];
    },
  };
}
