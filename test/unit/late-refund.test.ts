// A late refund takes back what the payment keeps beyond what its refunds leave it, read from the
// ledger: property-tested against the edge's own refund path, whatever order refunds arrive and
// are handled in, with late refunds run again (a retry, the sweep at the edge's close).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { clawbackFor, keptOn, type CommissionTerms, type Earned } from '../../domain/commission.ts';
import { lateClawback, refundClawbackKey } from '../../domain/late-refund.ts';

const TERMS: CommissionTerms = { salesBps: 2_000, creditBps: 500, recurringMonths: null };

describe('a late refund', () => {
  it('takes back the difference between what the payment keeps and what its refunds leave it', () => {
    // 10,000 at 20% / 5% keeps 2,000 and 500; with 4,000 refunded it keeps 1,200 and 300.
    expect(
      lateClawback({ amountCents: 10_000, refundedCents: 4_000, terms: TERMS, kept: { cash: 2_000, credits: 500 } }),
    ).toEqual({ cash: 800, credits: 200 });
    // Refunded in full: everything kept comes back.
    expect(
      lateClawback({ amountCents: 10_000, refundedCents: 10_000, terms: TERMS, kept: { cash: 2_000, credits: 500 } }),
    ).toEqual({ cash: 2_000, credits: 500 });
  });

  it('takes back nothing from a payment that earned nothing, or that keeps no more than its refunds leave it', () => {
    expect(
      lateClawback({ amountCents: 10_000, refundedCents: 4_000, terms: null, kept: { cash: 0, credits: 0 } }),
    ).toEqual({ cash: 0, credits: 0 });
    // A void already took everything back.
    expect(
      lateClawback({ amountCents: 10_000, refundedCents: 4_000, terms: TERMS, kept: { cash: 0, credits: 0 } }),
    ).toEqual({ cash: 0, credits: 0 });
    // The edge already took this refund back.
    expect(
      lateClawback({ amountCents: 10_000, refundedCents: 4_000, terms: TERMS, kept: { cash: 1_200, credits: 300 } }),
    ).toEqual({ cash: 0, credits: 0 });
  });

  it('is keyed as the edge keys a refund clawback', () => {
    expect(refundClawbackKey('re_1')).toBe('clawback:re_1');
  });

  it('whatever the order, with the edge taking some back and late refunds the rest (some run twice), the payment ends keeping exactly floor((amount - refunded) x rate), never less on the way', () => {
    const scenario = fc
      .record({
        amount: fc.integer({ min: 1, max: 200_000 }),
        salesBps: fc.integer({ min: 0, max: 5_000 }),
        creditBps: fc.integer({ min: 0, max: 2_000 }),
        shares: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }),
        refundedPercent: fc.integer({ min: 1, max: 100 }),
        closeAfter: fc.nat(),
        byEdge: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        edgeOrder: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
        lateDelays: fc.array(fc.nat({ max: 8 }), { minLength: 8, maxLength: 8 }),
        reruns: fc.array(fc.record({ refund: fc.nat(), at: fc.nat() }), { maxLength: 6 }),
      })
      .map((s) => {
        // Refunds adding up to at most the payment, each at least a cent.
        const total = Math.max(s.shares.length, Math.floor((s.amount * s.refundedPercent) / 100));
        const sum = s.shares.reduce((a, b) => a + b, 0);
        const refunds = s.shares.map((share) => Math.max(1, Math.floor((share * total) / sum)));
        while (refunds.reduce((a, b) => a + b, 0) > s.amount) refunds.pop();
        return { ...s, refunds };
      })
      .filter((s) => s.refunds.length > 0);

    fc.assert(
      fc.property(scenario, (s) => {
        const terms: CommissionTerms = { salesBps: s.salesBps, creditBps: s.creditBps, recurringMonths: null };
        const n = s.refunds.length;
        let kept: Earned = keptOn(s.amount, 0, terms);
        const posted = new Set<number>();
        let recorded = 0;
        const record = (i: number) => void (recorded += s.refunds[i]!);
        const check = () => {
          const floor = keptOn(s.amount, recorded, terms);
          expect(kept.cash).toBeGreaterThanOrEqual(floor.cash);
          expect(kept.credits).toBeGreaterThanOrEqual(floor.credits);
        };
        const post = (i: number, amounts: Earned) => {
          if (posted.has(i) || (amounts.cash === 0 && amounts.credits === 0)) return; // the ledger key, or nothing to post
          posted.add(i);
          kept = { cash: kept.cash - amounts.cash, credits: kept.credits - amounts.credits };
          check();
        };

        // While the edge's workflow runs: refunds 0..close-1 are recorded; it takes back some, in its own order.
        const close = s.closeAfter % (n + 1);
        for (let i = 0; i < close; i++) record(i);
        const byEdge = [...Array(close).keys()].filter((i) => s.byEdge[i]);
        byEdge.sort((a, b) => s.edgeOrder[a]! - s.edgeOrder[b]! || a - b);
        let edgeRefunded = 0;
        for (const i of byEdge) {
          post(i, clawbackFor(s.amount, edgeRefunded, s.refunds[i]!, terms));
          edgeRefunded += s.refunds[i]!;
        }

        // After it ended: the rest are recorded one by one; each missed or later refund is taken back
        // late some steps after it was recorded, and some late refunds run again.
        const late = [...Array(n).keys()].filter((i) => !byEdge.includes(i));
        const steps: { at: number; refund: number }[] = [
          ...late.map((i) => ({ at: Math.max(i, close) + s.lateDelays[i]!, refund: i })),
          ...s.reruns.map((r) => ({ at: close + (r.at % (n + 1)), refund: r.refund % n })),
        ];
        for (let at = close; at <= close + 2 * n + 8; at++) {
          if (at < n) record(at);
          for (const step of steps.filter((x) => x.at === at && x.refund <= Math.max(at, close - 1))) {
            post(step.refund, lateClawback({ amountCents: s.amount, refundedCents: recorded, terms, kept }));
          }
        }
        // Every refund handled: the payment keeps exactly what its refunds leave it.
        expect(kept).toEqual(keptOn(s.amount, recorded, terms));
      }),
      { numRuns: 2_000 },
    );
  });
});
