// An edge's earnings over any life: payments priced, refunded in parts, released or forfeited at a
// retention gate, perhaps voided.
// The ledger here is built only from what the rules say to post, so the totals the workflow shows
// and the money it moves are checked against each other and against keptOn.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { keptOn, type CommissionTerms } from '../../domain/commission.ts';
import {
  applyRefund,
  atGate,
  closesAt,
  forfeit,
  NO_EARNINGS,
  retentionVerdict,
  pendingReleases,
  recordPricedPayment,
  release,
  voidAll,
  type Clawback,
  type EdgeEarnings,
} from '../../domain/edge-earnings.ts';

const DAY = 86_400_000;
const START = Date.parse('2027-01-01T00:00:00Z');
const to = { tenantId: 't', referrerUserId: 'u' };
const terms: fc.Arbitrary<CommissionTerms> = fc.record({
  salesBps: fc.integer({ min: 0, max: 10_000 }),
  creditBps: fc.integer({ min: 0, max: 10_000 }),
  recurringMonths: fc.constant(12),
});

type Step =
  | { op: 'pay'; amount: number; terms: CommissionTerms | null; holdDays: number }
  | { op: 'refund'; payment: number; share: number }
  | { op: 'wait'; days: number; forfeit?: boolean }
  | { op: 'void' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('pay' as const),
    amount: fc.integer({ min: 0, max: 1_000_000_00 }),
    terms: fc.option(terms, { nil: null }),
    holdDays: fc.integer({ min: 0, max: 60 }),
  }),
  fc.record({
    op: fc.constant('refund' as const),
    payment: fc.nat(),
    share: fc.double({ min: 0, max: 1.2, noNaN: true }),
  }),
  fc.record({ op: fc.constant('wait' as const), days: fc.integer({ min: 0, max: 40 }), forfeit: fc.boolean() }),
  fc.constant({ op: 'void' as const }),
);

/** The accounts the posts move money between, as the ledger would hold them. */
type Ledger = { pending: number; payable: number; credits: number };

function takeBack(ledger: Ledger, c: Clawback): void {
  if (c.released) ledger.payable -= c.amounts.cash;
  else ledger.pending -= c.amounts.cash;
  ledger.credits -= c.amounts.credits;
}

/** What the payments keep, split by whether their commission was released. */
function kept(e: EdgeEarnings) {
  const sum = { pending: 0, payable: 0, credits: 0 };
  for (const p of Object.values(e.priced)) {
    if (!p.terms || p.forfeited) continue;
    const k = keptOn(p.amountCents, p.refundedCents, p.terms);
    if (p.released) sum.payable += k.cash;
    else sum.pending += k.cash;
    sum.credits += k.credits;
  }
  return sum;
}

/** Runs the steps, checking after each one; answers the earnings and the ledger at the end. */
function live(steps: Step[]): { e: EdgeEarnings; ledger: Ledger; voided: boolean } {
  let e: EdgeEarnings = { priced: {}, earned: { ...NO_EARNINGS } };
  const ledger: Ledger = { pending: 0, payable: 0, credits: 0 };
  let now = START;
  let voided = false;
  let n = 0;
  for (const s of steps) {
    if (voided) break;
    if (s.op === 'pay') {
      const paymentId = `p${n++}`;
      const earned = s.terms ? keptOn(s.amount, 0, s.terms) : null;
      e = recordPricedPayment(
        e,
        { paymentId, amountCents: s.amount },
        s.terms && earned ? { terms: s.terms, earned, holdDays: s.holdDays, beneficiary: to } : null,
        now,
      );
      if (earned) {
        ledger.pending += earned.cash;
        ledger.credits += earned.credits;
      }
    } else if (s.op === 'refund' && n > 0) {
      const p = e.priced[`p${s.payment % n}`]!;
      const amountCents = Math.floor((p.amountCents - p.refundedCents) * s.share);
      const change = applyRefund(e, { refundId: `r${now}-${s.payment}`, paymentId: p.paymentId, amountCents })!;
      if (p.refundedCents + amountCents > p.amountCents) expect(change).toEqual({ post: null, next: e });
      if (change.post) takeBack(ledger, change.post);
      e = change.next;
    } else if (s.op === 'wait') {
      now += s.days * DAY;
      for (const { paymentId } of pendingReleases(e)) {
        const change = release(e, paymentId, now);
        if (!change) continue;
        // A retention gate that finds the referee gone forfeits instead of releasing.
        if (s.forfeit) {
          const gate = atGate(e, paymentId, now)!;
          const forfeited = forfeit(e, paymentId, 'referee_cancelled')!;
          expect(forfeited.post.amounts).toEqual(gate.amounts);
          ledger.pending -= forfeited.post.amounts.cash;
          ledger.credits -= forfeited.post.amounts.credits;
          e = forfeited.next;
          continue;
        }
        ledger.pending -= change.post.cash;
        ledger.payable += change.post.cash;
        e = change.next;
      }
    } else if (s.op === 'void') {
      const { posts, next } = voidAll(e);
      posts.forEach((c) => takeBack(ledger, c));
      e = next;
      voided = true;
    }
    const k = voided ? { pending: 0, payable: 0, credits: 0 } : kept(e);
    expect({ pending: e.earned.pendingCents, payable: e.earned.payableCents, credits: e.earned.credits }).toEqual(k);
    expect(ledger).toEqual(k);
    expect(e.earned.cashCents).toBe(k.pending + k.payable);
    expect(Math.min(e.earned.pendingCents, e.earned.payableCents, e.earned.credits)).toBeGreaterThanOrEqual(0);
  }
  return { e, ledger, voided };
}

describe('edge earnings', () => {
  it('pending + payable is always the cash the payments keep, and the ledger holds the same', () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 30 }), (steps) => void live(steps)));
  });

  it('a forfeited commission is never released, and later refunds or a void take nothing more of it', () => {
    const t: CommissionTerms = { salesBps: 1_000, creditBps: 200, recurringMonths: null };
    let e = recordPricedPayment(
      { priced: {}, earned: { ...NO_EARNINGS } },
      { paymentId: 'p', amountCents: 10_000 },
      { terms: t, earned: keptOn(10_000, 0, t), holdDays: 60, beneficiary: to },
      START,
    );
    e = applyRefund(e, { refundId: 'r1', paymentId: 'p', amountCents: 2_000 })!.next;
    expect(atGate(e, 'p', START + 60 * DAY - 1)).toBeNull();
    expect(atGate(e, 'p', START + 60 * DAY)).toEqual({
      paymentId: 'p',
      to,
      amounts: { cash: 800, credits: 160 },
      gateAt: new Date(START + 60 * DAY).toISOString(),
    });
    const { post, next } = forfeit(e, 'p', 'referee_refunded')!;
    expect(post).toEqual({ paymentId: 'p', to, amounts: { cash: 800, credits: 160 }, reason: 'referee_refunded' });
    expect(next.earned).toEqual(NO_EARNINGS);
    expect(release(next, 'p', START + 90 * DAY)).toBeNull();
    expect(atGate(next, 'p', START + 90 * DAY)).toBeNull();
    expect(forfeit(next, 'p', 'referee_cancelled')).toBeNull();
    expect(applyRefund(next, { refundId: 'r2', paymentId: 'p', amountCents: 8_000 })!.post).toBeNull();
    expect(voidAll(next).posts).toEqual([]);
  });

  it('the gate keeps a commission only if the referee neither cancelled, charged back nor refunded', () => {
    expect(retentionVerdict({ cancelled: false, chargedBack: false, refunded: false })).toBeNull();
    expect(retentionVerdict({ cancelled: true, chargedBack: true, refunded: true })).toBe('referee_cancelled');
    expect(retentionVerdict({ cancelled: false, chargedBack: true, refunded: true })).toBe('referee_charged_back');
    expect(retentionVerdict({ cancelled: false, chargedBack: false, refunded: true })).toBe('referee_refunded');
  });

  it('a payment refunded in full keeps zero, whether released or not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000_00 }),
        terms,
        fc.integer({ min: 0, max: 60 }),
        fc.boolean(),
        (amount, t, holdDays, releaseFirst) => {
          const steps: Step[] = [
            { op: 'pay', amount, terms: t, holdDays },
            ...(releaseFirst ? [{ op: 'wait' as const, days: 61 }] : []),
            { op: 'refund', payment: 0, share: 0.5 },
            { op: 'refund', payment: 0, share: 1 },
          ];
          const { e, ledger } = live(steps);
          expect(e.earned).toEqual({ cashCents: 0, credits: 0, pendingCents: 0, payableCents: 0 });
          expect(ledger).toEqual({ pending: 0, payable: 0, credits: 0 });
        },
      ),
    );
  });

  it('a void takes back everything still kept and leaves nothing to release', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 20 }), (steps) => {
        const { e, ledger } = live([...steps, { op: 'void' }]);
        expect(e.earned).toEqual(NO_EARNINGS);
        expect(ledger).toEqual({ pending: 0, payable: 0, credits: 0 });
        expect(pendingReleases(e)).toEqual([]);
      }),
    );
  });

  it('releases a commission once, when its holding period ends, at what the payment still keeps', () => {
    const t: CommissionTerms = { salesBps: 2_000, creditBps: 500, recurringMonths: null };
    let e = recordPricedPayment(
      { priced: {}, earned: { ...NO_EARNINGS } },
      { paymentId: 'p', amountCents: 4_999 },
      { terms: t, earned: keptOn(4_999, 0, t), holdDays: 30, beneficiary: to },
      START,
    );
    e = applyRefund(e, { refundId: 'r', paymentId: 'p', amountCents: 2_000 })!.next;
    expect(release(e, 'p', START + 30 * DAY - 1)).toBeNull();
    const change = release(e, 'p', START + 30 * DAY)!;
    expect(change.post).toEqual({ paymentId: 'p', to, cash: 599 });
    expect(change.next.earned).toEqual({ cashCents: 599, credits: 149, pendingCents: 0, payableCents: 599 });
    expect(release(change.next, 'p', START + 90 * DAY)).toBeNull();
  });

  it('an edge closes when the refund window after its last earning payment has passed, never before a release', () => {
    const t: CommissionTerms = { salesBps: 1_000, creditBps: 0, recurringMonths: null };
    const empty: EdgeEarnings = { priced: {}, earned: { ...NO_EARNINGS } };
    expect(closesAt(empty, null)).toBeNull();
    const e = recordPricedPayment(
      empty,
      { paymentId: 'p', amountCents: 10_000 },
      { terms: t, earned: keptOn(10_000, 0, t), holdDays: 200, beneficiary: to },
      START,
    );
    expect(closesAt(e, new Date(START).toISOString())).toBe(START + 200 * DAY);
    expect(closesAt(release(e, 'p', START + 200 * DAY)!.next, new Date(START).toISOString())).toBe(START + 180 * DAY);
  });

  it('a refund of a payment not priced yet waits for it', () => {
    expect(
      applyRefund({ priced: {}, earned: { ...NO_EARNINGS } }, { refundId: 'r', paymentId: 'later', amountCents: 1 }),
    ).toBeNull();
  });
});
