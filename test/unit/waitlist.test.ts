import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compareStanding, waitlistMessages, waitlistScore } from '../../domain/waitlist.ts';
import { creditsOf, entitlementsOf, hasWaveSkip, LADDER, nextRung, rungsReached } from '../../domain/milestones.ts';
import { forecast, nextWakeUp, planWave, plannedSeats, WAIT_BUCKETS, bucketOf } from '../../domain/waves.ts';

const DAY = 86_400_000;

describe('waitlist score', () => {
  it('counts vested referrals fully and unvested or expired ones not at all, and says so', () => {
    const s = waitlistScore({ vested: 3, waiting: 7, expired: 2 });
    expect(s.points).toBe(30);
    expect(s.lines.map((l) => [l.count, l.pointsEach, l.points])).toEqual([
      [3, 10, 30],
      [7, 0, 0],
      [2, 0, 0],
    ]);
    expect(waitlistScore({ vested: 0, waiting: 100, expired: 0 }).points).toBe(0);
  });

  it('orders wave skips first, then points, then who signed up first', () => {
    const a = { skip: false, score: 50, signedUpAt: new Date(2), id: 'a' };
    const b = { skip: true, score: 0, signedUpAt: new Date(9), id: 'b' };
    const c = { skip: false, score: 50, signedUpAt: new Date(1), id: 'c' };
    expect([a, b, c].sort(compareStanding).map((x) => x.id)).toEqual(['b', 'c', 'a']);
  });

  it('is a total order (antisymmetric, transitive)', () => {
    const key = fc.record({
      skip: fc.boolean(),
      score: fc.integer({ min: 0, max: 50 }),
      signedUpAt: fc.integer({ min: 0, max: 5 }).map((t) => new Date(t)),
      id: fc.string({ maxLength: 3 }),
    });
    fc.assert(
      fc.property(key, key, key, (x, y, z) => {
        // Opposite signs, or both zero (`toBe(-0)` would tell 0 from -0 for equal keys).
        expect(Math.sign(compareStanding(x, y)) + Math.sign(compareStanding(y, x))).toBe(0);
        if (compareStanding(x, y) <= 0 && compareStanding(y, z) <= 0)
          expect(compareStanding(x, z)).toBeLessThanOrEqual(0);
      }),
    );
  });
});

describe('milestone ladder (PRODUCT.md, exactly)', () => {
  it('has the rungs 1, 3, 5, 10, 25, 50, 100 with their rewards', () => {
    expect(LADDER.map((r) => r.at)).toEqual([1, 3, 5, 10, 25, 50, 100]);
    expect(LADDER.map((r) => r.title)).toEqual([null, null, null, null, 'Founder', 'Champion', 'Legend']);
    expect(LADDER.map(creditsOf)).toEqual([250, 1000, 0, 0, 0, 0, 0]);
    const kinds = LADDER.map((r) =>
      entitlementsOf(r).map(
        (e) =>
          `${e.kind}${e.detail ? `:${e.detail}` : ''}${e.durationDays ? `/${e.durationDays}d` : ''}${e.vestsOnActivation ? '/on-activation' : ''}`,
      ),
    );
    expect(kinds).toEqual([
      ['badge:first-referral'],
      ['pro_preview/7d'],
      ['wave_skip', 'badge:Builder'],
      ['pro/30d/on-activation', 'founding_price_lock'],
      ['pro/90d', 'name_on_wall', 'founder_community'],
      ['pro/180d', 'founder_calls'],
      ['studio/365d', 'affiliate_revenue_share'],
    ]);
    expect(LADDER[0]!.rewards.some((r) => r.kind === 'position_jump')).toBe(true);
  });

  it('reaches rungs by vested count, skips waves from 5, and names the next rung still to earn', () => {
    expect(rungsReached(0)).toEqual([]);
    expect(rungsReached(4).map((r) => r.at)).toEqual([1, 3]);
    expect(rungsReached(100).length).toBe(7);
    expect(hasWaveSkip(4)).toBe(false);
    expect(hasWaveSkip(5)).toBe(true);
    expect(nextRung(0)!.at).toBe(1);
    expect(nextRung(9)!.at).toBe(10);
    expect(nextRung(100)).toBeNull();
    // A rung granted before (the count dropped after a void) is not offered again.
    expect(nextRung(0, new Set([1]))!.at).toBe(3);
  });
});

describe('messages: only when literally true', () => {
  const base = { waitlisted: true, vested: 0, granted: new Set<number>(), passedThisWeek: 0, nextWave: null };
  it('says how many passed only when someone did', () => {
    expect(waitlistMessages(base).map((m) => m.kind)).toEqual(['next_milestone']);
    expect(waitlistMessages({ ...base, passedThisWeek: 1 })[0]!.text).toBe('1 person passed you this week.');
    expect(waitlistMessages({ ...base, passedThisWeek: 3 })[0]!.text).toBe('3 people passed you this week.');
    expect(waitlistMessages({ ...base, waitlisted: false, passedThisWeek: 3 }).map((m) => m.kind)).toEqual([
      'next_milestone',
    ]);
  });
  it('names exactly how many vested referrals the next reward needs', () => {
    expect(
      waitlistMessages({ ...base, vested: 2, granted: new Set([1]) }).find((m) => m.kind === 'next_milestone')!.text,
    ).toBe("You're 1 referral from 1,000 credits and a 7-day Pro preview.");
    expect(
      waitlistMessages({ ...base, vested: 5, granted: new Set([1, 3, 5]) }).find((m) => m.kind === 'next_milestone')!
        .text,
    ).toMatch(/^You're 5 referrals from 1 month of Pro/);
    expect(
      waitlistMessages({ ...base, vested: 100, granted: new Set(LADDER.map((r) => r.at)) }).find(
        (m) => m.kind === 'next_milestone',
      ),
    ).toBeUndefined();
  });
  it('shows seats of the next wave only when there are some and the user waits', () => {
    const wave = { name: 'Wave 3', opensAt: new Date('2026-11-27T09:00:00Z'), seatsLeft: 200 };
    expect(waitlistMessages({ ...base, nextWave: wave }).find((m) => m.kind === 'next_wave_seats')!.text).toBe(
      'Wave 3 opens 2026-11-27T09:00:00.000Z with 200 seats left.',
    );
    expect(
      waitlistMessages({ ...base, nextWave: { ...wave, seatsLeft: 0 } }).find((m) => m.kind === 'next_wave_seats'),
    ).toBeUndefined();
    expect(
      waitlistMessages({ ...base, waitlisted: false, nextWave: wave }).find((m) => m.kind === 'next_wave_seats'),
    ).toBeUndefined();
  });
});

describe('wave planning', () => {
  const s = { targetWaitDays: 30, cadenceDays: 7, leadDays: 2 };
  const now = new Date('2026-11-22T00:00:00Z');
  it('plans nothing while nobody waits or the oldest is far from the target', () => {
    expect(planWave(now, null, s)).toBeNull();
    expect(planWave(now, new Date(now.getTime() - 10 * DAY), s)).toBeNull();
  });
  it('opens the wave lead days before the oldest reaches the target, covering who would pass it before the next', () => {
    const oldest = new Date(now.getTime() - 25 * DAY);
    const plan = planWave(now, oldest, s)!;
    expect(plan.opensAt.getTime()).toBe(oldest.getTime() + 28 * DAY);
    expect(plan.coverSignedUpBefore.getTime()).toBe(plan.opensAt.getTime() + (7 - 30 + 2) * DAY);
    // Overdue already: open now.
    expect(planWave(now, new Date(now.getTime() - 40 * DAY), s)!.opensAt).toEqual(now);
  });
  it('property: everyone covered is admitted before waiting the target, and the next wave is due no earlier than one cadence later', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), (waitedDays) => {
        const oldest = new Date(now.getTime() - waitedDays * DAY);
        const plan = planWave(now, oldest, s);
        if (!plan) return;
        // Whoever signed up just before the cutoff has waited at most target - lead at the wave after this one.
        const nextOpens = plan.opensAt.getTime() + s.cadenceDays * DAY;
        expect(nextOpens - plan.coverSignedUpBefore.getTime()).toBe((s.targetWaitDays - s.leadDays) * DAY);
      }),
    );
  });
  it('sizes the planned wave down to the last covered place, less seats other waves release first', () => {
    expect(plannedSeats(null, 0)).toBe(0);
    expect(plannedSeats(120, 0)).toBe(120);
    expect(plannedSeats(120, 100)).toBe(20);
    expect(plannedSeats(120, 500)).toBe(0);
  });

  it('the release wakes at the earlier of the next wave opening and the next planning round; a wave already due, now', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    const hour = 3_600_000;
    const at = (ms: number) => new Date(now.getTime() + ms);
    expect(nextWakeUp(now, null, hour)).toEqual({ at: at(hour), reason: { kind: 'planning' } });
    expect(nextWakeUp(now, { name: 'Wave 3', opensAt: at(10 * 60_000) }, hour)).toEqual({
      at: at(10 * 60_000),
      reason: { kind: 'wave_opens', waveName: 'Wave 3' },
    });
    expect(nextWakeUp(now, { name: 'Wave 3', opensAt: at(hour) }, hour)).toEqual({
      at: at(hour),
      reason: { kind: 'wave_opens', waveName: 'Wave 3' },
    });
    expect(nextWakeUp(now, { name: 'Wave 3', opensAt: at(2 * hour) }, hour)).toEqual({
      at: at(hour),
      reason: { kind: 'planning' },
    });
    expect(nextWakeUp(now, { name: 'Late', opensAt: at(-5_000) }, hour)).toEqual({
      at: now,
      reason: { kind: 'wave_opens', waveName: 'Late' },
    });
  });
});

describe('forecast', () => {
  it('weighs each released user by the conversion of the cohort that waited as long', () => {
    // 0-7 days: 100 admitted, 40 paid; 30-60 days: 50 admitted, 5 paid.
    const cohorts = [
      { admitted: 100, paying: 40 },
      { admitted: 0, paying: 0 },
      { admitted: 0, paying: 0 },
      { admitted: 50, paying: 5 },
      { admitted: 0, paying: 0 },
    ];
    const f = forecast(30, [20, 0, 0, 10, 0], cohorts);
    expect(f.expectedPaying).toBe(9); // 20 x 0.4 + 10 x 0.1
    expect(f.lines[0]).toMatchObject({ released: 20, rateBps: 4000, basis: 'cohort', expectedHundredths: 800 });
    expect(f.lines[3]).toMatchObject({ released: 10, rateBps: 1000, basis: 'cohort', expectedHundredths: 100 });
    // A bucket without data uses all cohorts pooled: 45 / 150.
    expect(forecast(10, [0, 10, 0, 0, 0], cohorts)).toMatchObject({
      expectedPaying: 3,
      lines: expect.arrayContaining([expect.objectContaining({ basis: 'all_cohorts', rateBps: 3000 })]),
    });
  });
  it('forecasts nothing without a measured cohort', () => {
    const empty = WAIT_BUCKETS.map(() => ({ admitted: 0, paying: 0 }));
    expect(forecast(10, [10, 0, 0, 0, 0], empty).expectedPaying).toBeNull();
  });
  it('property: the expectation lies between 0 and the release and is the rounded exact sum', () => {
    const cohort = fc
      .integer({ min: 1, max: 1000 })
      .chain((admitted) =>
        fc.record({ admitted: fc.constant(admitted), paying: fc.integer({ min: 0, max: admitted }) }),
      );
    fc.assert(
      fc.property(
        fc.array(cohort, { minLength: 5, maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 5, maxLength: 5 }),
        (cohorts, released) => {
          const total = released.reduce((a, b) => a + b, 0);
          const f = forecast(total, released, cohorts);
          const exact = released.reduce((sum, r, i) => sum + (r * cohorts[i]!.paying) / cohorts[i]!.admitted, 0);
          expect(f.expectedPaying).toBeGreaterThanOrEqual(0);
          expect(f.expectedPaying).toBeLessThanOrEqual(total);
          expect(Math.abs(f.expectedPaying! - exact)).toBeLessThanOrEqual(0.5 + 1e-9);
        },
      ),
    );
  });
  it('buckets whole days waited', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(6 * DAY)).toBe(0);
    expect(bucketOf(7 * DAY)).toBe(1);
    expect(bucketOf(29 * DAY)).toBe(2);
    expect(bucketOf(45 * DAY)).toBe(3);
    expect(bucketOf(400 * DAY)).toBe(4);
  });
});
