import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  BETA_AUTO_TERMS,
  clawbackFor,
  inCommissionWindow,
  isSelfPurchase,
  keptOn,
  termsFor,
  type CommissionTerms,
} from '../../domain/commission.ts';
import { applyBps } from '../../domain/money.ts';

const amount = fc.integer({ min: 0, max: 10_000_000_00 }); // up to $10M in cents
const bps = fc.integer({ min: 0, max: 10_000 });
const terms = fc.record({
  salesBps: bps,
  creditBps: bps,
  recurringMonths: fc.option(fc.integer({ min: 1, max: 120 }), { nil: null }),
});

/** Splits `total` into 1..n positive parts. */
const partition = (total: number) =>
  fc.array(fc.integer({ min: 1, max: Math.max(1, total) }), { minLength: 1, maxLength: 8 }).map((cuts) => {
    const parts: number[] = [];
    let left = total;
    for (const c of cuts) {
      if (left === 0) break;
      const part = Math.min(c, left);
      parts.push(part);
      left -= part;
    }
    if (left > 0) parts.push(left);
    return parts;
  });

describe('applyBps', () => {
  it('is floor(amount x bps / 10000), exactly', () => {
    expect(applyBps(999, 1_000)).toBe(99);
    expect(applyBps(1, 9_999)).toBe(0);
    expect(applyBps(Number.MAX_SAFE_INTEGER, 10_000)).toBe(Number.MAX_SAFE_INTEGER);
    fc.assert(
      fc.property(amount, bps, (a, r) => {
        const c = applyBps(a, r);
        return c * 10_000 <= a * r && (c + 1) * 10_000 > a * r;
      }),
    );
  });

  it('refuses fractions, negatives and rates over 100%', () => {
    expect(() => applyBps(1.5, 100)).toThrow(RangeError);
    expect(() => applyBps(-1, 100)).toThrow(RangeError);
    expect(() => applyBps(100, 10_001)).toThrow(RangeError);
    expect(() => applyBps(100, 12.5)).toThrow(RangeError);
  });
});

describe('commission on a payment', () => {
  it('never exceeds the rate, in cash or in credits', () => {
    fc.assert(
      fc.property(amount, terms, (a, t) => {
        const { cash, credits } = keptOn(a, 0, t);
        return cash * 10_000 <= a * t.salesBps && credits * 10_000 <= a * t.creditBps && cash >= 0 && credits >= 0;
      }),
    );
  });

  it('earns cash and credits on the same payment', () => {
    expect(keptOn(12_345, 0, { salesBps: 2_000, creditBps: 500, recurringMonths: 12 })).toEqual({
      cash: 2_469,
      credits: 617,
    });
  });
});

describe('refunds', () => {
  it('fully reverse what the payment earned, at once or in any parts', () => {
    fc.assert(
      fc.property(
        amount.chain((a) => fc.tuple(fc.constant(a), partition(a))),
        terms,
        ([a, parts], t) => {
          let refunded = 0;
          let cash = 0;
          let credits = 0;
          for (const part of parts) {
            const back = clawbackFor(a, refunded, part, t);
            if (back.cash < 0 || back.credits < 0) return false;
            cash += back.cash;
            credits += back.credits;
            refunded += part;
          }
          const earned = keptOn(a, 0, t);
          return refunded === a && cash === earned.cash && credits === earned.credits && keptOn(a, a, t).cash === 0;
        },
      ),
    );
  });

  it('balance over any sequence of payments and partial refunds', () => {
    const payment = amount.chain((a) =>
      fc.tuple(
        fc.constant(a),
        fc.integer({ min: 0, max: a }).chain((r) => fc.tuple(fc.constant(r), partition(r))),
      ),
    );
    fc.assert(
      fc.property(fc.array(payment, { maxLength: 12 }), terms, (payments, t) => {
        let ledgerCash = 0;
        let expected = 0;
        for (const [a, [refundTotal, parts]] of payments) {
          ledgerCash += keptOn(a, 0, t).cash;
          let refunded = 0;
          for (const part of refundTotal === 0 ? [] : parts) {
            ledgerCash -= clawbackFor(a, refunded, part, t).cash;
            refunded += part;
          }
          expected += keptOn(a, refunded, t).cash;
        }
        return ledgerCash === expected && ledgerCash >= 0;
      }),
    );
  });

  it('refuses a refund larger than what is left of the payment', () => {
    expect(() => clawbackFor(1_000, 600, 401, BETA_AUTO_TERMS)).toThrow(RangeError);
  });
});

describe('tiers', () => {
  const partner = { salesCommissionBps: 2_500, creditCommissionBps: 1_000, recurring: true, recurringMonths: 12 };

  it("pays intentional edges their partner's rates in either phase", () => {
    for (const phase of ['beta', 'public'] as const) {
      expect(termsFor('intentional', phase, partner)).toEqual({
        salesBps: 2_500,
        creditBps: 1_000,
        recurringMonths: 12,
      });
    }
    expect(termsFor('intentional', 'public', { ...partner, recurring: false })?.recurringMonths).toBeNull();
    expect(termsFor('intentional', 'public', null)).toBeNull();
  });

  it('pays beta auto-enrolled edges nothing in cash before the flip, then 10% on the first payment only', () => {
    expect(termsFor('beta_auto', 'beta', partner)).toBeNull();
    expect(termsFor('beta_auto', 'public', null)).toEqual({ salesBps: 1_000, creditBps: 0, recurringMonths: null });
    expect(termsFor('beta_auto', 'public', null, 1_500)?.salesBps).toBe(1_500);
    expect(() => termsFor('beta_auto', 'public', null, 3_000)).toThrow(RangeError);
  });

  it('counts recurring months from the first payment', () => {
    const t: CommissionTerms = { salesBps: 2_000, creditBps: 0, recurringMonths: 12 };
    const first = new Date('2026-01-31T12:00:00Z');
    expect(inCommissionWindow(t, first, first, true)).toBe(true);
    expect(inCommissionWindow(t, first, new Date('2026-12-31T11:59:59Z'), false)).toBe(true);
    expect(inCommissionWindow(t, first, new Date('2027-01-31T12:00:00Z'), false)).toBe(false);
    expect(inCommissionWindow(BETA_AUTO_TERMS, first, new Date('2026-02-01T00:00:00Z'), false)).toBe(false);
  });
});

describe('self-purchase', () => {
  it('is the referrer themself, by id or inbox', () => {
    expect(isSelfPurchase({ id: 'a', inbox: 'x@y.z' }, { id: 'a', inbox: 'q@y.z' })).toBe(true);
    expect(isSelfPurchase({ id: 'a', inbox: 'x@y.z' }, { id: 'b', inbox: 'x@y.z' })).toBe(true);
    expect(isSelfPurchase({ id: 'a', inbox: 'x@y.z' }, { id: 'b', inbox: 'q@y.z' })).toBe(false);
  });
});
