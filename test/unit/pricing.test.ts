// Pricing one payment where it arrives, and the ledger postings an edge's money moves through.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  clawbackFor,
  commissionWindowEnd,
  DEFAULT_COMMISSION_SETTINGS,
  keptOn,
  pricePayment,
  type CommissionTerms,
} from '../../domain/commission.ts';
import {
  clawbackPosting,
  commissionPosting,
  releasePosting,
  type LedgerPosting,
} from '../../domain/ledger-postings.ts';

const partner = { salesCommissionBps: 2_500, creditCommissionBps: 500, recurring: true, recurringMonths: 12 };
const base = {
  kind: 'intentional' as const,
  phase: 'beta' as const,
  partner,
  selfPurchase: false,
  amountCents: 10_000,
  paidAt: new Date('2027-01-15T00:00:00Z'),
  firstPaymentAt: null,
  settings: DEFAULT_COMMISSION_SETTINGS,
};

describe('pricePayment', () => {
  it("an intentional edge earns its partner's rates in either phase, held for the holding period", () => {
    for (const phase of ['beta', 'public'] as const) {
      expect(pricePayment({ ...base, phase })).toEqual({
        status: 'earned',
        terms: { salesBps: 2_500, creditBps: 500, recurringMonths: 12 },
        earned: { cash: 2_500, credits: 500 },
        holdDays: 30,
      });
    }
  });

  it('a beta auto-enrolled edge: nothing in beta; after the flip the beta tier on the first payment, behind the retention gate', () => {
    expect(pricePayment({ ...base, kind: 'beta_auto' })).toEqual({ status: 'not_eligible', reason: 'beta_phase' });
    expect(pricePayment({ ...base, kind: 'beta_auto', phase: 'public' })).toEqual({
      status: 'earned',
      terms: { salesBps: 1_000, creditBps: 0, recurringMonths: null },
      earned: { cash: 1_000, credits: 0 },
      holdDays: 60,
    });
    expect(
      pricePayment({
        ...base,
        kind: 'beta_auto',
        phase: 'public',
        settings: { ...DEFAULT_COMMISSION_SETTINGS, betaAutoBps: 1_500 },
      }),
    ).toMatchObject({ earned: { cash: 1_500 } });
    expect(
      pricePayment({ ...base, kind: 'beta_auto', phase: 'public', firstPaymentAt: new Date('2027-01-01T00:00:00Z') }),
    ).toEqual({ status: 'not_eligible', reason: 'outside_window' });
  });

  it('recurring: payments inside N months of the first earn, later ones do not; first-payment-only terms earn once', () => {
    const first = new Date('2027-01-31T00:00:00Z');
    expect(pricePayment({ ...base, firstPaymentAt: first, paidAt: new Date('2028-01-30T23:59:59Z') }).status).toBe(
      'earned',
    );
    expect(pricePayment({ ...base, firstPaymentAt: first, paidAt: new Date('2028-01-31T00:00:00Z') })).toEqual({
      status: 'not_eligible',
      reason: 'outside_window',
    });
    const once = { ...partner, recurring: false };
    expect(pricePayment({ ...base, partner: once }).status).toBe('earned');
    expect(pricePayment({ ...base, partner: once, firstPaymentAt: first })).toEqual({
      status: 'not_eligible',
      reason: 'outside_window',
    });
  });

  it('an unusable partner, a self-purchase and a commission that floors to zero earn nothing', () => {
    expect(pricePayment({ ...base, partner: null })).toEqual({ status: 'not_eligible', reason: 'partner_inactive' });
    expect(pricePayment({ ...base, selfPurchase: true })).toEqual({ status: 'not_eligible', reason: 'self_purchase' });
    expect(pricePayment({ ...base, amountCents: 3 })).toEqual({ status: 'not_eligible', reason: 'zero_commission' });
  });

  it('never earns more than the rate, and a self-purchase never earns', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000_00 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.boolean(),
        fc.constantFrom('beta_auto' as const, 'intentional' as const),
        fc.constantFrom('beta' as const, 'public' as const),
        (amountCents, sales, credit, selfPurchase, kind, phase) => {
          const priced = pricePayment({
            ...base,
            kind,
            phase,
            selfPurchase,
            amountCents,
            partner: { ...partner, salesCommissionBps: sales, creditCommissionBps: credit },
          });
          if (selfPurchase) return priced.status === 'not_eligible';
          if (priced.status !== 'earned') return true;
          return (
            priced.earned.cash * 10_000 <= amountCents * priced.terms.salesBps &&
            priced.earned.credits * 10_000 <= amountCents * priced.terms.creditBps
          );
        },
      ),
    );
  });
});

describe('commissionWindowEnd', () => {
  it('is N calendar months after the first payment; null for first-payment-only terms', () => {
    expect(
      commissionWindowEnd(
        { salesBps: 1, creditBps: 0, recurringMonths: 12 },
        new Date('2027-03-10T12:00:00Z'),
      )?.toISOString(),
    ).toBe('2028-03-10T12:00:00.000Z');
    expect(
      commissionWindowEnd({ salesBps: 1, creditBps: 0, recurringMonths: null }, new Date('2027-03-10T12:00:00Z')),
    ).toBeNull();
  });
});

const sums = (p: LedgerPosting | null) => {
  const byCurrency: Record<string, number> = {};
  for (const e of p?.entries ?? []) byCurrency[e.currency] = (byCurrency[e.currency] ?? 0) + e.amount;
  return byCurrency;
};
const balanceOf = (postings: (LedgerPosting | null)[], purpose: string) =>
  postings
    .flatMap((p) => p?.entries ?? [])
    .filter((e) => e.purpose === purpose && e.ownerType !== 'platform')
    .reduce((s, e) => s + e.amount, 0);

describe('ledger postings of an edge', () => {
  const to = { tenantId: 't1', referrerUserId: 'u1' };

  it('each balances per currency, has a business key and no zero entries', () => {
    const c = commissionPosting({ paymentId: 'p1', edgeId: 'e1', to, earned: { cash: 250, credits: 62 } })!;
    expect(c.key).toBe('commission:p1');
    expect(sums(c)).toEqual({ USD: 0, CREDIT: 0 });
    expect(
      commissionPosting({ paymentId: 'p1', edgeId: 'e1', to, earned: { cash: 250, credits: 0 } })!.entries.every(
        (e) => e.currency === 'USD',
      ),
    ).toBe(true);
    expect(commissionPosting({ paymentId: 'p1', edgeId: 'e1', to, earned: { cash: 0, credits: 0 } })).toBeNull();
    expect(releasePosting({ paymentId: 'p1', edgeId: 'e1', to, cash: 250 })!.key).toBe('release:p1');
    expect(
      clawbackPosting({
        key: 'clawback:r1',
        kind: 'clawback',
        paymentId: 'p1',
        edgeId: 'e1',
        to,
        amounts: { cash: 0, credits: 0 },
        released: true,
      }),
    ).toBeNull();
  });

  it('any payment refunded in any parts, released at any point: balances end at what the payment keeps', () => {
    const terms = fc.record({
      salesBps: fc.integer({ min: 0, max: 10_000 }),
      creditBps: fc.integer({ min: 0, max: 10_000 }),
      recurringMonths: fc.constant(null),
    }) as fc.Arbitrary<CommissionTerms>;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_00 }),
        terms,
        fc.array(fc.integer({ min: 1, max: 5_000_00 }), { maxLength: 6 }),
        fc.nat(6),
        (amount, t, wanted, releaseAfter) => {
          const postings: (LedgerPosting | null)[] = [
            commissionPosting({ paymentId: 'p', edgeId: 'e', to, earned: keptOn(amount, 0, t) }),
          ];
          let refunded = 0;
          let released = false;
          const release = () => {
            postings.push(releasePosting({ paymentId: 'p', edgeId: 'e', to, cash: keptOn(amount, refunded, t).cash }));
            released = true;
          };
          wanted.forEach((w, i) => {
            if (i === releaseAfter && !released) release();
            const part = Math.min(w, amount - refunded);
            if (part === 0) return;
            postings.push(
              clawbackPosting({
                key: `clawback:${i}`,
                kind: 'clawback',
                paymentId: 'p',
                edgeId: 'e',
                to,
                amounts: clawbackFor(amount, refunded, part, t),
                released,
              }),
            );
            refunded += part;
          });
          if (!released) release();
          const kept = keptOn(amount, refunded, t);
          for (const p of postings) expect(Object.values(sums(p)).every((v) => v === 0)).toBe(true);
          expect(balanceOf(postings, 'earnings_pending')).toBe(0);
          expect(balanceOf(postings, 'earnings_payable')).toBe(kept.cash);
          expect(balanceOf(postings, 'credits')).toBe(kept.credits);
        },
      ),
    );
  });
});
