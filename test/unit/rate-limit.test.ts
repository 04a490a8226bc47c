// The sliding minute the shared rate limiter estimates from a bucket's two counters.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addressBucket, principalBucket, retryAfterSeconds, slidingHits } from '../../api/rate-limit.ts';

describe('sliding window', () => {
  it('weighs the previous minute by how much of it is still within the last 60 s', () => {
    expect(slidingHits(1, 10, 0)).toBe(11);
    expect(slidingHits(1, 10, 30_000)).toBe(6);
    expect(slidingHits(1, 10, 60_000)).toBe(1);
    expect(slidingHits(5, 0, 59_999)).toBe(5);
  });

  it('gives no double budget across the turn of a minute', () => {
    // A client that used a budget of 5 late in one minute is still limited just after the turn.
    const limit = 5;
    fc.assert(fc.property(fc.integer({ min: 0, max: 5_000 }), (elapsed) => slidingHits(1, limit, elapsed) > limit));
  });

  it('never estimates fewer hits than this minute has, nor more than both minutes', () => {
    fc.assert(
      fc.property(
        fc.nat(1_000),
        fc.nat(1_000),
        fc.integer({ min: -1_000, max: 120_000 }),
        (hits, previous, elapsed) => {
          const estimate = slidingHits(hits, previous, elapsed);
          return estimate >= hits && estimate <= hits + previous;
        },
      ),
    );
  });

  it('asks to retry when the minute turns, at least 1 s', () => {
    expect(retryAfterSeconds(0)).toBe(60);
    expect(retryAfterSeconds(59_500)).toBe(1);
    expect(retryAfterSeconds(70_000)).toBe(1);
  });
});

describe('buckets', () => {
  const limits = { perAddress: 1, perUser: 2, perKey: 3 };
  it('are per address and group, per user, per key', () => {
    expect(addressBucket(limits, '203.0.113.1', 'signups')).toMatchObject({
      key: 'ip:signups:203.0.113.1',
      perMinute: 1,
    });
    expect(principalBucket(limits, { type: 'user', userId: 'u1', tenantId: 't1' })).toMatchObject({
      key: 'user:u1',
      perMinute: 2,
    });
    expect(principalBucket(limits, { type: 'api_key', role: 'server', keyId: 'abc' })).toMatchObject({
      key: 'key:abc',
      perMinute: 3,
    });
  });
});
