// The Stripe client, through the official SDK. STRIPE_API_BASE points it elsewhere (stripe-mock,
// the tests' fake) and STRIPE_RATE_LIMIT_PER_SECOND keeps the process under Stripe's rate limit;
// 429s and 5xx that still happen are retried by the SDK with the same idempotency key.
import Stripe from 'stripe';

export type StripeSettings = {
  secretKey: string | null;
  apiBase: string | null;
  webhookSecret: string | null;
  rateLimitPerSecond: number;
  concurrency: number;
};

export function createStripe(settings: StripeSettings): Stripe | null {
  if (!settings.secretKey) return null;
  const base = settings.apiBase ? new URL(settings.apiBase) : null;
  return new Stripe(settings.secretKey, {
    maxNetworkRetries: 5,
    timeout: 20_000,
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
          protocol: base.protocol.replace(':', '') as 'http' | 'https',
        }
      : {}),
  });
}

/** A token bucket: `take()` resolves when a request may go out (at most `perSecond`, in bursts of 10%). */
export function rateLimiter(perSecond: number): { take(): Promise<void> } {
  const capacity = Math.max(1, Math.floor(perSecond / 10));
  let tokens = capacity;
  let last = performance.now();
  let queue: Promise<void> = Promise.resolve();
  const refill = () => {
    const now = performance.now();
    tokens = Math.min(capacity, tokens + ((now - last) * perSecond) / 1000);
    last = now;
  };
  return {
    take() {
      const turn = queue.then(async () => {
        refill();
        while (tokens < 1) {
          await new Promise((r) => setTimeout(r, Math.ceil(((1 - tokens) * 1000) / perSecond)));
          refill();
        }
        tokens -= 1;
      });
      queue = turn;
      return turn;
    },
  };
}
