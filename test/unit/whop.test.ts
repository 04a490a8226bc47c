// Whop's pure rules: which checkouts carry a code, the override an edge's terms give Whop, who a
// payment's metadata names, Whop's retry hints, and the whop rail in the ledger (a commission Whop
// pays never reaches what our payout cycles pay, and whatever refunds take back comes off the rail
// it went to).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BETA_AUTO_TERMS } from '../../domain/commission.ts';
import {
  clawbackPosting,
  commissionPosting,
  forfeitPosting,
  partnerEarnings,
  partnerWhopEarnings,
  releasePosting,
  type LedgerPosting,
  type Rail,
} from '../../domain/ledger-postings.ts';
import {
  buyerOfMetadata,
  checkoutAttribution,
  checkoutMetadata,
  isDisputeLost,
  overrideTerms,
} from '../../domain/whop.ts';
import { retryAfterMs } from '../../platform/whop.ts';

const PARTNER = { salesBps: 2_000, creditBps: 500, recurringMonths: 12 };

describe('checkoutAttribution', () => {
  it('carries the code only for an edge that earns now', () => {
    expect(checkoutAttribution(null)).toEqual({ attributed: false, reason: 'no_edge' });
    expect(checkoutAttribution({ held: false, voided: true, terms: PARTNER })).toEqual({
      attributed: false,
      reason: 'edge_voided',
    });
    expect(checkoutAttribution({ held: true, voided: false, terms: PARTNER })).toEqual({
      attributed: false,
      reason: 'edge_held',
    });
    expect(checkoutAttribution({ held: false, voided: false, terms: null })).toEqual({
      attributed: false,
      reason: 'not_eligible',
    });
    expect(checkoutAttribution({ held: false, voided: false, terms: { ...PARTNER, salesBps: 0 } })).toEqual({
      attributed: false,
      reason: 'not_eligible',
    });
    expect(checkoutAttribution({ held: false, voided: false, terms: PARTNER })).toEqual({
      attributed: true,
      terms: PARTNER,
    });
  });
});

describe('overrideTerms', () => {
  it('beta auto-enrolled terms pay the first payment; recurring partner terms all payments', () => {
    expect(overrideTerms(BETA_AUTO_TERMS)).toEqual({ percent: 10, appliesTo: 'first_payment' });
    expect(overrideTerms(PARTNER)).toEqual({ percent: 20, appliesTo: 'all_payments' });
    expect(overrideTerms({ ...PARTNER, salesBps: 1_250, recurringMonths: null })).toEqual({
      percent: 12.5,
      appliesTo: 'first_payment',
    });
  });

  it('always within Whop 1-100', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (bps) => {
        const { percent } = overrideTerms({ salesBps: bps, creditBps: 0, recurringMonths: null });
        return percent >= 1 && percent <= 100;
      }),
    );
  });
});

describe('metadata', () => {
  it('names the buyer, the checkout and the edge; reads the buyer back only when it is a uuid', () => {
    const buyerId = '0b7a1f4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
    const m = checkoutMetadata({ buyerId, edgeId: null, checkoutId: 'c1' });
    expect(m).toEqual({ rg_buyer_id: buyerId, rg_checkout_id: 'c1' });
    expect(buyerOfMetadata(m)).toBe(buyerId);
    expect(buyerOfMetadata({ rg_buyer_id: "x' OR 1=1" })).toBeNull();
    expect(buyerOfMetadata({})).toBeNull();
  });

  it('a dispute moves money only when the payer won it', () => {
    expect(isDisputeLost('lost')).toBe(true);
    for (const s of ['needs_response', 'won', 'warning_needs_response', undefined, 3])
      expect(isDisputeLost(s)).toBe(false);
  });
});

describe('retryAfterMs', () => {
  it("reads retry-after-ms, retry-after, then Whop's message", () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }), undefined)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), undefined)).toBe(3_000);
    expect(retryAfterMs(new Headers(), { error: { message: 'Try again in 12 seconds.' } })).toBe(12_000);
    expect(retryAfterMs(undefined, undefined)).toBe(1_000);
  });
});

describe('the whop rail', () => {
  const to = { tenantId: 't1', referrerUserId: 'u1' };
  const sumOn = (postings: (LedgerPosting | null)[], purpose: string) =>
    postings
      .flatMap((p) => p?.entries ?? [])
      .filter((e) => e.ownerType === 'tenant' && e.purpose === purpose)
      .reduce((s, e) => s + e.amount, 0);

  it('a Whop-paid commission goes to earnings_whop, is never released, and refunds take it back from there', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Rail>('ours', 'whop'),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.boolean(),
        (rail, cash, back, released) => {
          const taken = Math.min(cash, back);
          const postings = [
            commissionPosting({ paymentId: 'p', edgeId: 'e', to, earned: { cash, credits: 0 }, rail }),
            releasePosting({ paymentId: 'p', edgeId: 'e', to, cash, rail }),
            clawbackPosting({
              key: 'clawback:r',
              kind: 'clawback',
              paymentId: 'p',
              edgeId: 'e',
              to,
              amounts: { cash: taken, credits: 0 },
              released: true,
              rail,
            }),
            released
              ? null
              : forfeitPosting({
                  paymentId: 'p',
                  edgeId: 'e',
                  to,
                  amounts: { cash: 0, credits: 0 },
                  reason: 'x',
                  rail,
                }),
          ];
          for (const p of postings) if (p) expect(p.entries.reduce((s, e) => s + e.amount, 0)).toBe(0);
          const payable = sumOn(postings, partnerEarnings('t1', 'payable').purpose);
          const whop = sumOn(postings, partnerWhopEarnings('t1').purpose);
          if (rail === 'whop') {
            // Nothing of it is ever payable by our cycles; the rail keeps what the refunds left.
            expect(payable).toBe(0);
            expect(whop).toBe(cash - taken);
            expect(sumOn(postings, 'earnings_pending')).toBe(0);
          } else {
            expect(whop).toBe(0);
            expect(payable).toBe(cash - taken);
          }
        },
      ),
    );
  });
});
