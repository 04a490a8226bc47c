// The one module that talks to Whop, through the official `@whop/sdk` (0.0.42): affiliates and
// their overrides, checkout configurations, payments (and their fees), refunds, and the Standard
// Webhooks check of an event. Everything else in the system sees the plain types below, so a later
// SDK version (Whop's docs already show `WhopClient` with `account_id`) changes this file only.
// WHOP_BASE_URL points the SDK elsewhere (the tests' fake). Each operation keeps under
// WHOP_RATE_LIMIT_PER_MINUTE (Whop allows 600 per minute per operation per credential); a 429 that
// still comes is retried by the SDK after the hint it carries, then surfaces as WhopRateLimited
// with that hint. The API key and webhook secret are never logged or put in an error message.
import Whop, { APIError, RateLimitError } from '@whop/sdk';
import { rateLimiter } from './stripe.ts';

export type WhopSettings = {
  apiKey: string | null;
  baseUrl: string | null;
  companyId: string | null;
  webhookSecret: string | null;
  /** Requests per minute per operation (Whop's documented limit is 600). */
  rateLimitPerMinute: number;
  /** Retries the SDK makes on 408/409/429/5xx before the error reaches us. */
  maxRetries: number;
  /** Milliseconds before a request is given up (and retried). */
  timeoutMs: number;
};

export type WhopAffiliate = { id: string; code: string | null };
export type WhopOverrideTerms = {
  planId: string;
  /** 1-100 (Whop's commission_value for a percentage). */
  percent: number;
  appliesTo: 'first_payment' | 'all_payments';
};
export type WhopCheckout = { id: string; purchaseUrl: string; affiliateCode: string | null };

/** A Whop payment as our side reads it: amounts in cents. */
export type WhopPayment = {
  id: string;
  status: string | null;
  /** What was paid, in cents of USD (null: not in USD and no usd_total). */
  amountCents: number | null;
  currency: string;
  refundedCents: number;
  paidAt: string | null;
  createdAt: string;
  billingReason: string | null;
  checkoutConfigurationId: string | null;
  membershipId: string | null;
  metadata: Record<string, unknown>;
  whopUserId: string | null;
};
export type WhopRefund = {
  id: string;
  paymentId: string | null;
  amountCents: number;
  status: string;
  createdAt: string;
  /** The payment summary a refund event carries (no checkout_configuration_id). */
  paymentMetadata: Record<string, unknown>;
  membershipId: string | null;
};
export type WhopPage<T> = { items: T[]; endCursor: string | null };
/** An affiliate of the company with Whop's aggregate of what it paid them (`total_referral_earnings_usd`). */
export type WhopAffiliateEarnings = { id: string; code: string | null; earnedCents: number };
/** One override of an affiliate with Whop's aggregate of what it paid through it. */
export type WhopOverrideEarnings = { id: string; planId: string | null; earnedCents: number };
export type WhopEvent = { id: string; type: string; timestamp: string | null; data: Record<string, unknown> };

/** Whop answered 429 and the SDK's retries did not get through: try again after `retryAfterMs`. */
export class WhopRateLimited extends Error {
  override name = 'WhopRateLimited';
  readonly operation: string;
  readonly retryAfterMs: number;
  constructor(operation: string, retryAfterMs: number) {
    super(`Whop rate limit on ${operation}: retry after ${retryAfterMs} ms`);
    this.operation = operation;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Whop refused or failed a request (no secret in the message). */
export class WhopRequestFailed extends Error {
  override name = 'WhopRequestFailed';
  readonly operation: string;
  readonly status: number | null;
  constructor(operation: string, status: number | null, message: string) {
    super(`Whop ${operation} failed${status ? ` (${status})` : ''}: ${message}`);
    this.operation = operation;
    this.status = status;
  }
}

/** The webhook's signature or shape does not verify. */
export class WhopSignatureInvalid extends Error {
  override name = 'WhopSignatureInvalid';
}

const cents = (dollars: number | string | null | undefined): number | null =>
  dollars === null || dollars === undefined || dollars === '' ? null : Math.round(Number(dollars) * 100);

/** Milliseconds a 429 asks us to wait: retry-after-ms, retry-after (seconds or a date), or "Try again in N seconds". */
export function retryAfterMs(headers: Headers | undefined, body: unknown): number {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const after = headers?.get('retry-after');
  if (after) {
    const seconds = Number(after);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(after);
    if (Number.isFinite(at)) return Math.max(0, at - Date.now());
  }
  const message = (body as { error?: { message?: string } } | undefined)?.error?.message ?? '';
  const inSeconds = /in (\d+(?:\.\d+)?) seconds?/i.exec(message);
  return inSeconds ? Number(inSeconds[1]) * 1000 : 1000;
}

function toPayment(p: any): WhopPayment {
  const currency = String(p.currency ?? 'usd').toLowerCase();
  const amount = currency === 'usd' ? cents(p.total) : cents(p.usd_total);
  return {
    id: String(p.id),
    status: p.status ?? null,
    amountCents: amount,
    currency,
    refundedCents: cents(p.refunded_amount) ?? 0,
    paidAt: p.paid_at ?? null,
    createdAt: String(p.created_at),
    billingReason: p.billing_reason ?? null,
    checkoutConfigurationId: p.checkout_configuration_id ?? null,
    membershipId: p.membership?.id ?? null,
    metadata: (p.metadata as Record<string, unknown> | null) ?? {},
    whopUserId: p.user?.id ?? null,
  };
}

function toRefund(r: any): WhopRefund {
  return {
    id: String(r.id),
    paymentId: r.payment?.id ?? null,
    amountCents: cents(r.amount) ?? 0,
    status: String(r.status),
    createdAt: String(r.created_at),
    paymentMetadata: (r.payment?.metadata as Record<string, unknown> | null) ?? {},
    membershipId: r.payment?.membership?.id ?? null,
  };
}

export type WhopClient = ReturnType<typeof createWhopClient>;

/** Null when Whop is not configured (no WHOP_API_KEY). */
export function createWhop(settings: WhopSettings): WhopClient | null {
  if (!settings.apiKey) return null;
  return createWhopClient(settings);
}

function createWhopClient(settings: WhopSettings) {
  const sdk = new Whop({
    apiKey: settings.apiKey!,
    webhookKey: settings.webhookSecret ? Buffer.from(settings.webhookSecret).toString('base64') : null,
    ...(settings.baseUrl ? { baseURL: settings.baseUrl } : {}),
    maxRetries: settings.maxRetries,
    timeout: settings.timeoutMs,
    logLevel: 'off',
  });
  const companyId = settings.companyId ?? undefined;
  const limiters = new Map<string, { take(): Promise<void> }>();
  // A hair under the limit, so a fixed one-minute window at Whop never sees one request too many.
  const perSecond = (settings.rateLimitPerMinute * 0.99) / 60;

  /** One request of an operation: under its rate limit, errors translated (never with the key). */
  async function call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    let limiter = limiters.get(operation);
    if (!limiter) limiters.set(operation, (limiter = rateLimiter(perSecond)));
    await limiter.take();
    try {
      return await request();
    } catch (err) {
      if (err instanceof RateLimitError) throw new WhopRateLimited(operation, retryAfterMs(err.headers, err.error));
      if (err instanceof APIError) {
        const body = err.error as { error?: { message?: string } } | undefined;
        throw new WhopRequestFailed(operation, err.status ?? null, body?.error?.message ?? 'no message');
      }
      throw new WhopRequestFailed(operation, null, (err as Error).name ?? 'network error');
    }
  }

  return {
    companyId,

    /** Creates the company's affiliate for a user, or finds the one there is (Whop: "creates or finds"). */
    async createOrFindAffiliate(userIdentifier: string): Promise<WhopAffiliate> {
      const a = await call('affiliates.create', () =>
        sdk.affiliates.create({ company_id: companyId!, user_identifier: userIdentifier }),
      );
      return { id: a.id, code: a.user?.username ?? null };
    },

    /** A standard override on one plan: our percentage, first or all payments. */
    async createOverride(affiliateId: string, terms: WhopOverrideTerms): Promise<{ id: string }> {
      const o = await call('affiliates.overrides.create', () =>
        sdk.affiliates.overrides.create(affiliateId, {
          id: affiliateId,
          override_type: 'standard',
          plan_id: terms.planId,
          commission_type: 'percentage',
          commission_value: terms.percent,
          applies_to_payments: terms.appliesTo,
        } as never),
      );
      return { id: (o as { id: string }).id };
    },

    async updateOverride(affiliateId: string, overrideId: string, terms: WhopOverrideTerms): Promise<void> {
      await call('affiliates.overrides.update', () =>
        sdk.affiliates.overrides.update(overrideId, {
          id: affiliateId,
          commission_type: 'percentage',
          commission_value: terms.percent,
          applies_to_payments: terms.appliesTo,
        } as never),
      );
    },

    async deleteOverride(affiliateId: string, overrideId: string): Promise<void> {
      await call('affiliates.overrides.delete', () => sdk.affiliates.overrides.delete(overrideId, { id: affiliateId }));
    },

    /** A checkout configuration, idempotent by `idempotencyKey` at Whop. */
    async createCheckout(c: {
      planId: string;
      affiliateCode: string | null;
      metadata: Record<string, string>;
      redirectUrl?: string | undefined;
      idempotencyKey: string;
    }): Promise<WhopCheckout> {
      const created = await call('checkout_configurations.create', () =>
        sdk.checkoutConfigurations.create({
          plan_id: c.planId,
          metadata: c.metadata,
          ...(c.affiliateCode ? { affiliate_code: c.affiliateCode } : {}),
          ...(c.redirectUrl ? { redirect_url: c.redirectUrl } : {}),
          'Idempotency-Key': c.idempotencyKey,
        } as never),
      );
      const r = created as { id: string; purchase_url: string; affiliate_code?: string | null };
      return { id: r.id, purchaseUrl: r.purchase_url, affiliateCode: r.affiliate_code ?? null };
    },

    /** One page of the company's payments created after `since`, from `after` (Whop's cursor). */
    async listPayments(q: {
      since: string | null;
      after: string | null;
      first: number;
    }): Promise<WhopPage<WhopPayment>> {
      const page = await call('payments.list', () =>
        sdk.payments.list({
          company_id: companyId ?? null,
          first: q.first,
          ...(q.since ? { created_after: q.since } : {}),
          ...(q.after ? { after: q.after } : {}),
          order: 'created_at',
          direction: 'asc',
        }),
      );
      return { items: page.data.map(toPayment), endCursor: page.page_info?.end_cursor || null };
    },

    async retrievePayment(id: string): Promise<WhopPayment> {
      return toPayment(await call('payments.retrieve', () => sdk.payments.retrieve(id)));
    },

    /** One page of the company's affiliates with Whop's aggregate earnings of each (100 per page at most). */
    async listAffiliates(q: { after: string | null; first: number }): Promise<WhopPage<WhopAffiliateEarnings>> {
      const page = await call('affiliates.list', () =>
        sdk.affiliates.list({
          company_id: companyId!,
          first: q.first,
          ...(q.after ? { after: q.after } : {}),
          order: 'created_at',
          direction: 'asc',
        }),
      );
      return {
        items: page.data.map((a) => ({
          id: a.id,
          code: a.user?.username ?? null,
          earnedCents: cents(a.total_referral_earnings_usd) ?? 0,
        })),
        endCursor: page.page_info?.end_cursor || null,
      };
    },

    /** An affiliate's overrides with what Whop paid through each (all pages). */
    async listOverrides(affiliateId: string): Promise<WhopOverrideEarnings[]> {
      const out: WhopOverrideEarnings[] = [];
      for (let after: string | null = null; ;) {
        const page: { data: any[]; page_info?: { end_cursor?: string | null } } = await call(
          'affiliates.overrides.list',
          () => sdk.affiliates.overrides.list(affiliateId, { first: 100, ...(after ? { after } : {}) }),
        );
        for (const o of page.data)
          out.push({ id: o.id, planId: o.plan_id ?? null, earnedCents: cents(o.total_referral_earnings_usd) ?? 0 });
        after = page.page_info?.end_cursor || null;
        if (!after) return out;
      }
    },

    /** What Whop's `affiliate_fee` entries on the payment add up to, in cents (0: none). */
    async affiliateFeeCents(paymentId: string): Promise<number> {
      const page = await call('payments.list_fees', () => sdk.payments.listFees(paymentId, { first: 100 }));
      return page.data.filter((f) => f.type === 'affiliate_fee').reduce((sum, f) => sum + (cents(f.amount) ?? 0), 0);
    },

    async listRefunds(q: { since: string | null; after: string | null; first: number }): Promise<WhopPage<WhopRefund>> {
      const page = await call('refunds.list', () =>
        sdk.refunds.list({
          company_id: companyId ?? null,
          first: q.first,
          ...(q.since ? { created_after: q.since } : {}),
          ...(q.after ? { after: q.after } : {}),
          direction: 'asc',
        }),
      );
      return { items: page.data.map(toRefund), endCursor: page.page_info?.end_cursor || null };
    },

    /**
     * A webhook event: the Standard Webhooks signature checked on the raw body (5 minutes either
     * way); the headers are always passed, because the SDK skips the check without them.
     */
    unwrapWebhook(
      rawBody: Buffer,
      headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
    ): WhopEvent {
      if (!settings.webhookSecret) throw new WhopSignatureInvalid('Whop webhooks are not configured.');
      if (!headers.id || !headers.timestamp || !headers.signature)
        throw new WhopSignatureInvalid('The webhook-id, webhook-timestamp and webhook-signature headers are required.');
      let event: any;
      try {
        event = sdk.webhooks.unwrap(rawBody.toString('utf8'), {
          headers: {
            'webhook-id': headers.id,
            'webhook-timestamp': headers.timestamp,
            'webhook-signature': headers.signature,
          },
        });
      } catch (err) {
        throw new WhopSignatureInvalid(`The Whop signature does not verify: ${(err as Error).message}`);
      }
      if (!event || typeof event.id !== 'string' || typeof event.type !== 'string' || typeof event.data !== 'object')
        throw new WhopSignatureInvalid('The Whop event is signed but does not have the shape of a Whop event.');
      return { id: event.id, type: event.type, timestamp: event.timestamp ?? null, data: event.data ?? {} };
    },
  };
}

/** A Whop payment or refund object as a webhook carries it, read like the API's. */
export const whopPaymentOf = toPayment;
export const whopRefundOf = toRefund;
