// Per-IP fixed-window limits on public endpoints, kept in this process's memory (each API process
// limits on its own; put a shared limiter in front when running many).
import { ApiError } from './errors.ts';

export type RateLimiter = { take(ip: string, group: string): void };

export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  let windowStart = now();
  let counts = new Map<string, number>();
  return {
    take(ip, group) {
      const t = now();
      if (t - windowStart >= 60_000) {
        windowStart = t - ((t - windowStart) % 60_000);
        counts = new Map();
      }
      const key = `${group}|${ip}`;
      const used = (counts.get(key) ?? 0) + 1;
      counts.set(key, used);
      if (used > perMinute) {
        const retryAfter = Math.ceil((windowStart + 60_000 - t) / 1000);
        throw Object.assign(
          new ApiError(
            429,
            'rate_limit_error',
            'rate_limited',
            `Too many requests from this address; retry in ${retryAfter} s.`,
          ),
          { retryAfter },
        );
      }
    },
  };
}
