// Rate limits every API process shares: counters live in PostgreSQL (db/rate-limits.ts), one
// atomic upsert per request. Public routes are limited per client address and route group (the
// address Express derives under TRUST_PROXY); signed-in routes per user and per API key. The window
// slides: this minute's hits plus the previous minute's, weighted by how much of it still lies
// within the last 60 seconds, so a client gets no double budget across a minute's turn.
import type { DatabasePool } from 'slonik';
import { hitBucket, sweepBuckets } from '../db/rate-limits.ts';
import { ApiError } from './errors.ts';
import type { Principal } from './auth.ts';

const WINDOW_MS = 60_000;

export type RateLimits = { perAddress: number; perUser: number; perKey: number };

/** Which budget a request spends, and its size per minute. */
export type Bucket = { key: string; perMinute: number; who: string };

export type RateLimiter = { take(bucket: Bucket): Promise<void> };

/** The sliding-minute estimate of a bucket's hits. */
export function slidingHits(hits: number, previousHits: number, elapsedMs: number): number {
  const previousWeight = 1 - Math.min(Math.max(elapsedMs, 0), WINDOW_MS) / WINDOW_MS;
  return hits + previousHits * previousWeight;
}

/** Seconds until the current minute turns (at least 1). */
export function retryAfterSeconds(elapsedMs: number): number {
  return Math.max(1, Math.ceil((WINDOW_MS - Math.min(elapsedMs, WINDOW_MS)) / 1000));
}

export function addressBucket(limits: RateLimits, address: string, group: string): Bucket {
  return { key: `ip:${group}:${address}`, perMinute: limits.perAddress, who: 'this address' };
}

export function principalBucket(limits: RateLimits, principal: Principal): Bucket {
  return principal.type === 'user'
    ? { key: `user:${principal.userId}`, perMinute: limits.perUser, who: 'this user' }
    : { key: `key:${principal.keyId}`, perMinute: limits.perKey, who: 'this API key' };
}

export function createRateLimiter(db: DatabasePool, now: () => number = Date.now): RateLimiter {
  let lastSweep = 0;
  return {
    async take({ key, perMinute, who }) {
      const { hits, previousHits, elapsedMs } = await hitBucket(db, key);
      if (now() - lastSweep >= WINDOW_MS) {
        lastSweep = now();
        void sweepBuckets(db).catch(() => {}); // best effort; the next minute tries again
      }
      if (slidingHits(hits, previousHits, elapsedMs) <= perMinute) return;
      const retryAfter = retryAfterSeconds(elapsedMs);
      throw Object.assign(
        new ApiError(
          429,
          'rate_limit_error',
          'rate_limited',
          `Too many requests from ${who}; retry in ${retryAfter} s.`,
        ),
        { retryAfter },
      );
    },
  };
}
