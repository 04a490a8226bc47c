// A stateful fake of the part of Whop's REST API (/api/v1) we use, shaped as @whop/sdk 0.0.42 sends
// and reads it, so the official SDK talks to it unchanged through its baseURL:
//   POST /affiliates (create-or-find by username, email or user id), GET /affiliates (company_id,
//   first, after), GET /affiliates/{id}
//   POST|GET /affiliates/{id}/overrides, GET|PATCH|DELETE /affiliates/{id}/overrides/{oid}
//   POST /checkout_configurations (Idempotency-Key replays the first answer), GET /checkout_configurations/{id}
//   GET /payments (company_id, created_after, first, after; `{ data, page_info: { end_cursor } }`),
//   GET /payments/{id}, GET /payments/{id}/fees, GET /refunds, GET /refunds/{id}
// Errors are `{ error: { type, message } }`. It fails on demand (429 with retry-after-ms and Whop's
// "Try again in N seconds", 500, a request that hangs past the client's timeout, before or after
// doing its work), can enforce a
// per-operation rate limit, and plays the buyer's side: paying a checkout (the checkout's injected
// affiliate code wins over a `?a=` click: last click, server side), renewals on the membership,
// refunds and lost disputes, and signed webhooks. Affiliates and overrides keep Whop's aggregate
// `total_referral_earnings_usd`: each affiliate fee adds to it, and a refund takes back what it
// claws back of the fee (the fee becomes floor((amount - refunded) x rate); Whop's docs say only
// that refunds "within the window" claw back, so that is this fake's reading), and (Standard Webhooks: HMAC-SHA256 over
// `id.timestamp.body` with the base64 of the secret).
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, any>;
/** 'hang': never answers; 'hang_after': does the work, then never answers (the answer is lost). */
export type WhopFault = '429' | '500' | 'hang' | 'hang_after';

export type FakeWhop = {
  /** The SDK's baseURL: http://127.0.0.1:PORT/api/v1 */
  baseUrl: string;
  apiKey: string;
  companyId: string;
  /** The raw webhook secret (WHOP_WEBHOOK_SECRET); the SDK's key is its base64. */
  webhookSecret: string;
  affiliates: Map<string, Json>;
  overrides: Map<string, Json>;
  checkouts: Map<string, Json>;
  payments: Json[];
  refunds: Json[];
  /** Faults served in order, one per request to a matching operation (all when null), before handling. */
  faults: { fault: WhopFault; operation?: string | null }[];
  /** Requests per minute per operation beyond which the fake answers 429 (null: no limit). */
  rateLimitPerMinute: number | null;
  /** Milliseconds affiliates.create takes (to widen races). */
  affiliateCreateDelayMs: number;
  /** The Whop username a new Whop user gets from their email (null: none). */
  usernameOf: (email: string) => string | null;
  /** Requests per operation; the most one operation had in one of the limit's one-minute windows; 429s. */
  stats: { requests: Map<string, number>; peakPerMinute: Map<string, number>; rateLimited: number };
  count(operation: string): number;
  /** The buyer pays a checkout (the code it carries wins over `click`, a `?a=` affiliate code). */
  pay(checkoutId: string, p: { amountCents: number; click?: string | null; paidAt?: Date }): Json;
  /** A renewal on the membership of `paymentId` (subscription_cycle; no checkout id, no metadata). */
  renew(paymentId: string, p?: { amountCents?: number }): Json;
  /** A payment outside any checkout of ours. */
  foreignPayment(amountCents: number): Json;
  refund(paymentId: string, amountCents: number): Json;
  /** Sets the affiliate fee Whop paid on a payment (Whop paying other than our terms), aggregates included. */
  setAffiliateFee(paymentId: string, feeCents: number): void;
  /** What Whop's affiliate fee on a payment is now, in cents (0: none). */
  affiliateFeeOf(paymentId: string): number;
  /** A dispute on a payment (status: 'lost' means the payer won). */
  dispute(paymentId: string, amountCents: number, status: string): Json;
  /** Headers signing `body` as Whop does (optionally with another secret or time). */
  sign(body: string, opts?: { id?: string; at?: Date; secret?: string }): Record<string, string>;
  /** Sends a signed event to `url`; answers the response status and body. */
  deliver(url: string, type: string, data: Json, opts?: { id?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
};

const cents = (c: number) => Math.round(c) / 100;

export async function startFakeWhop(opts: { apiKey?: string; companyId?: string } = {}): Promise<FakeWhop> {
  const apiKey = opts.apiKey ?? `apik_${randomBytes(8).toString('hex')}`;
  const companyId = opts.companyId ?? 'biz_fake';
  const webhookSecret = `ws_${randomBytes(16).toString('hex')}`;
  const users = new Map<string, Json>(); // by email or id or username
  const affiliates = new Map<string, Json>();
  const affiliateByUser = new Map<string, string>();
  const affiliateByCode = new Map<string, Json>();
  /** Overrides by `${affiliateId}:${planId}`. */
  const overrideByPlan = new Map<string, Json>();
  const overrides = new Map<string, Json>();
  const checkouts = new Map<string, Json>();
  const idempotent = new Map<string, Json>();
  const payments: Json[] = [];
  const paymentById = new Map<string, Json>();
  const refunds: Json[] = [];
  const fees = new Map<string, Json[]>();
  /** Per payment with an affiliate fee: whose it is and on what terms (for clawbacks and aggregates). */
  const feeOf = new Map<
    string,
    { affiliate: Json; override: Json; percent: number; amountCents: number; cents: number }
  >();
  const addEarnings = (affiliate: Json, override: Json, deltaCents: number) => {
    affiliate.total_referral_earnings_usd = String(
      cents(Math.round(Number(affiliate.total_referral_earnings_usd) * 100) + deltaCents),
    );
    override.total_referral_earnings_usd = cents(Math.round(override.total_referral_earnings_usd * 100) + deltaCents);
  };
  function setFee(paymentId: string, feeCents: number) {
    const f = feeOf.get(paymentId);
    if (!f) throw new Error(`no affiliate fee on ${paymentId}`);
    addEarnings(f.affiliate, f.override, feeCents - f.cents);
    f.cents = feeCents;
    const entry = fees.get(paymentId)!.find((x) => x.type === 'affiliate_fee')!;
    entry.amount = cents(feeCents);
  }
  const memberships = new Map<string, Json>();
  const windows = new Map<string, { start: number; n: number }>();
  const hung: http.ServerResponse[] = [];
  let seq = 0;
  const id = (prefix: string) => `${prefix}_${(++seq).toString(36).padStart(6, '0')}${randomBytes(3).toString('hex')}`;
  let clock = Date.now();
  const createdAt = () => new Date((clock = Math.max(clock + 1, Date.now()))).toISOString();

  function whopUser(identifier: string): Json {
    const known = users.get(identifier);
    if (known) return known;
    const email = identifier.includes('@') ? identifier : null;
    const user = {
      id: id('user'),
      name: email ?? identifier,
      username: email ? fake.usernameOf(email) : identifier.startsWith('user_') ? null : identifier,
    };
    users.set(identifier, user);
    users.set(user.id, user);
    if (user.username) users.set(user.username, user);
    return user;
  }

  const affiliateOfCode = (code: string | null | undefined) => {
    const a = code ? affiliateByCode.get(code) : undefined;
    return a?.status === 'active' ? a : undefined;
  };

  function paymentObject(p: Json): Json {
    const { _affiliate, ...visible } = p;
    return visible;
  }

  /** Records a payment, and the affiliate fee its affiliate's override earns (none without an override). */
  function recordPayment(p: {
    amountCents: number;
    checkout: Json | null;
    membership: Json | null;
    billingReason: string;
    affiliate: Json | undefined;
    paidAt?: Date | undefined;
  }): Json {
    const at = createdAt();
    const payment: Json = {
      id: id('pay'),
      status: 'paid',
      substatus: 'succeeded',
      currency: 'usd',
      total: cents(p.amountCents),
      subtotal: cents(p.amountCents),
      usd_total: cents(p.amountCents),
      refunded_amount: 0,
      created_at: at,
      updated_at: at,
      paid_at: (p.paidAt ?? new Date(at)).toISOString(),
      billing_reason: p.billingReason,
      checkout_configuration_id: p.checkout?.id ?? null,
      metadata: p.billingReason === 'subscription_cycle' ? null : (p.checkout?.metadata ?? null),
      membership: p.membership ? { id: p.membership.id, status: 'active' } : null,
      plan: p.checkout ? { id: p.checkout.plan.id } : null,
      user: { id: id('user'), name: 'buyer', username: null },
      company: { id: companyId, title: 'Fake' },
      _affiliate: p.affiliate?.id ?? null,
    };
    payments.push(payment);
    paymentById.set(payment.id, payment);
    const planId = p.checkout?.plan.id ?? p.membership?.plan_id ?? null;
    const override = p.affiliate ? overrideByPlan.get(`${p.affiliate.id}:${planId}`) : undefined;
    const first = p.billingReason !== 'subscription_cycle';
    const list: Json[] = [];
    if (override && (first || override.applies_to_payments === 'all_payments')) {
      const fee = Math.floor((p.amountCents * override.commission_value) / 100);
      list.push({ amount: cents(fee), currency: 'usd', name: 'Affiliate fee', type: 'affiliate_fee' });
      feeOf.set(payment.id, {
        affiliate: p.affiliate!,
        override,
        percent: override.commission_value,
        amountCents: p.amountCents,
        cents: fee,
      });
      addEarnings(p.affiliate!, override, fee);
      p.affiliate!.total_referrals_count += first ? 1 : 0;
    }
    list.push({
      amount: cents(Math.round(p.amountCents * 0.03)),
      currency: 'usd',
      name: 'Processing',
      type: 'whop_processing_fee',
    });
    fees.set(payment.id, list);
    return payment;
  }

  function page(items: Json[], query: URLSearchParams, show: (item: Json) => Json = (i) => i): Json {
    const after = query.get('after');
    const first = Math.min(Number(query.get('first') ?? 25) || 25, 100);
    const since = query.get('created_after');
    const filtered = items.filter((i) => !since || i.created_at > since);
    const start = after ? Number(Buffer.from(after, 'base64url').toString()) : 0;
    const slice = filtered.slice(start, start + first);
    const next = start + slice.length;
    return {
      data: slice.map(show),
      page_info: {
        end_cursor: next < filtered.length ? Buffer.from(String(next)).toString('base64url') : null,
        has_next_page: next < filtered.length,
      },
    };
  }

  const notFound = { status: 404, body: { error: { type: 'not_found', message: 'Not found' } } };

  async function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Json,
    headers: http.IncomingHttpHeaders,
  ): Promise<{ status: number; body: unknown }> {
    const parts = path.split('/').filter(Boolean);
    if (method === 'POST' && path === '/affiliates') {
      if (body.company_id !== companyId)
        return { status: 400, body: { error: { type: 'invalid_request', message: 'company_id is required' } } };
      if (fake.affiliateCreateDelayMs) await new Promise((r) => setTimeout(r, fake.affiliateCreateDelayMs));
      const user = whopUser(String(body.user_identifier));
      const existing = affiliateByUser.get(user.id);
      if (existing) return { status: 200, body: affiliates.get(existing) };
      const at = createdAt();
      const affiliate = {
        id: id('aff'),
        status: 'active',
        user: { id: user.id, name: user.name, username: user.username },
        company: { id: companyId, title: 'Fake' },
        total_referrals_count: 0,
        total_referral_earnings_usd: '0.0',
        total_overrides_count: 0,
        created_at: at,
        updated_at: at,
      };
      affiliates.set(affiliate.id, affiliate);
      affiliateByUser.set(user.id, affiliate.id);
      if (user.username) affiliateByCode.set(user.username, affiliate);
      return { status: 200, body: affiliate };
    }
    if (method === 'GET' && path === '/affiliates') {
      if (query.get('company_id') !== companyId)
        return { status: 400, body: { error: { type: 'invalid_request', message: 'company_id is required' } } };
      return { status: 200, body: page([...affiliates.values()], query) };
    }
    if (parts[0] === 'affiliates' && parts[1]) {
      const affiliate = affiliates.get(parts[1]);
      if (!affiliate) return notFound;
      if (parts.length === 2 && method === 'GET') return { status: 200, body: affiliate };
      if (parts[2] === 'overrides' && parts.length === 3) {
        if (method === 'GET')
          return {
            status: 200,
            body: page(
              [...overrides.values()].filter((o) => o._affiliate === affiliate.id),
              query,
            ),
          };
        if (method === 'POST') {
          if (body.id !== affiliate.id || body.override_type !== 'standard' || !body.plan_id)
            return { status: 422, body: { error: { type: 'invalid_request', message: 'bad override' } } };
          const override = {
            id: id('affov'),
            _affiliate: affiliate.id,
            override_type: 'standard',
            plan_id: body.plan_id,
            commission_type: body.commission_type ?? 'percentage',
            commission_value: body.commission_value,
            applies_to_payments: body.applies_to_payments ?? 'first_payment',
            total_referral_earnings_usd: 0,
          };
          overrides.set(override.id, override);
          overrideByPlan.set(`${affiliate.id}:${override.plan_id}`, override);
          affiliate.total_overrides_count += 1;
          return { status: 200, body: override };
        }
      }
      if (parts[2] === 'overrides' && parts[3]) {
        const override = overrides.get(parts[3]);
        if (!override || override._affiliate !== affiliate.id) return notFound;
        if (method === 'GET') return { status: 200, body: override };
        if (method === 'PATCH') {
          for (const k of ['commission_value', 'commission_type', 'applies_to_payments'])
            if (body[k] !== undefined) override[k] = body[k];
          return { status: 200, body: override };
        }
        if (method === 'DELETE') {
          overrides.delete(override.id);
          overrideByPlan.delete(`${affiliate.id}:${override.plan_id}`);
          return { status: 200, body: true };
        }
      }
    }
    if (method === 'POST' && path === '/checkout_configurations') {
      const key = headers['idempotency-key'];
      if (typeof key === 'string' && idempotent.has(key)) return { status: 200, body: idempotent.get(key) };
      if (!body.plan_id) return { status: 422, body: { error: { type: 'invalid_request', message: 'plan_id' } } };
      const checkout = {
        id: id('ch'),
        account_id: companyId,
        mode: 'payment',
        affiliate_code: body.affiliate_code ?? null,
        metadata: body.metadata ?? null,
        plan: { id: body.plan_id },
        redirect_url: body.redirect_url ?? null,
        purchase_url: '',
        created_at: createdAt(),
        _key: key ?? null,
      };
      checkout.purchase_url = `https://whop.com/checkout/${checkout.plan.id}?session=${checkout.id}`;
      checkouts.set(checkout.id, checkout);
      const { _key, ...visible } = checkout;
      if (typeof key === 'string') idempotent.set(key, visible);
      return { status: 200, body: visible };
    }
    if (method === 'GET' && parts[0] === 'checkout_configurations' && parts[1]) {
      const c = checkouts.get(parts[1]);
      return c ? { status: 200, body: c } : notFound;
    }
    if (method === 'GET' && path === '/payments')
      return { status: 200, body: page(payments.map(paymentObject), query) };
    if (method === 'GET' && parts[0] === 'payments' && parts[1]) {
      const p = paymentById.get(parts[1]!);
      if (!p) return notFound;
      if (parts[2] === 'fees') return { status: 200, body: page(fees.get(p.id) ?? [], query) };
      return { status: 200, body: paymentObject(p) };
    }
    if (method === 'GET' && path === '/refunds') return { status: 200, body: page(refunds, query) };
    if (method === 'GET' && parts[0] === 'refunds' && parts[1]) {
      const r = refunds.find((x) => x.id === parts[1]);
      return r ? { status: 200, body: r } : notFound;
    }
    return notFound;
  }

  const operationOf = (method: string, path: string) =>
    `${method} ${path.replace(/\/(aff|affov|ch|pay|rf)_[\w]+/g, '/{id}')}`;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname.replace(/^\/api\/v1/, '');
      const method = req.method ?? 'GET';
      const operation = operationOf(method, path);
      fake.stats.requests.set(operation, (fake.stats.requests.get(operation) ?? 0) + 1);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${apiKey}`)
        return send(401, { error: { type: 'unauthorized', message: 'Invalid API key' } });
      const faultAt = fake.faults.findIndex((f) => !f.operation || f.operation === operation);
      if (faultAt >= 0) {
        const { fault } = fake.faults.splice(faultAt, 1)[0]!;
        if (fault === 'hang') return void hung.push(res);
        if (fault === 'hang_after') {
          let body: Json = {};
          try {
            body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
          } catch {
            // handled as empty
          }
          await route(method, path, url.searchParams, body, req.headers);
          return void hung.push(res);
        }
        if (fault === '500') return send(500, { error: { type: 'server_error', message: 'Internal error' } });
        fake.stats.rateLimited += 1;
        return send(
          429,
          { error: { type: 'rate_limit_exceeded', message: 'Try again in 1 seconds.' } },
          { 'retry-after-ms': '200' },
        );
      }
      if (fake.rateLimitPerMinute !== null) {
        const now = Date.now();
        const w = windows.get(operation);
        const peak = (n: number) =>
          fake.stats.peakPerMinute.set(operation, Math.max(n, fake.stats.peakPerMinute.get(operation) ?? 0));
        if (!w || now - w.start >= 60_000) windows.set(operation, { start: now, n: 1 });
        else if (++w.n > fake.rateLimitPerMinute) {
          fake.stats.rateLimited += 1;
          const wait = 60_000 - (now - w.start);
          return send(
            429,
            { error: { type: 'rate_limit_exceeded', message: `Try again in ${Math.ceil(wait / 1000)} seconds.` } },
            { 'retry-after-ms': String(wait) },
          );
        }
        peak(windows.get(operation)!.n);
      }
      let body: Json = {};
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        return send(400, { error: { type: 'invalid_request', message: 'Invalid JSON' } });
      }
      const out = await route(method, path, url.searchParams, body, req.headers);
      send(out.status, out.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const sign: FakeWhop['sign'] = (body, o = {}) => {
    const msgId = o.id ?? `msg_${randomBytes(8).toString('hex')}`;
    const ts = Math.floor((o.at ?? new Date()).getTime() / 1000).toString();
    const key = Buffer.from(Buffer.from(o.secret ?? webhookSecret).toString('base64'), 'base64');
    const sig = createHmac('sha256', key).update(`${msgId}.${ts}.${body}`).digest('base64');
    return { 'webhook-id': msgId, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` };
  };

  const fake: FakeWhop = {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    apiKey,
    companyId,
    webhookSecret,
    affiliates,
    overrides,
    checkouts,
    payments,
    refunds,
    faults: [],
    rateLimitPerMinute: null,
    affiliateCreateDelayMs: 0,
    usernameOf: (email) =>
      email
        .split('@')[0]!
        .replace(/[^a-z0-9]/gi, '')
        .toLowerCase() || null,
    stats: { requests: new Map(), peakPerMinute: new Map(), rateLimited: 0 },
    count: (operation) => fake.stats.requests.get(operation) ?? 0,
    pay(checkoutId, p) {
      const checkout = checkouts.get(checkoutId);
      if (!checkout) throw new Error(`no checkout ${checkoutId}`);
      // Server-injected code first; the click's cookie only when the checkout carries none.
      const affiliate = affiliateOfCode(checkout.affiliate_code) ?? affiliateOfCode(p.click);
      const membership = {
        id: id('mem'),
        plan_id: checkout.plan.id,
        checkout_configuration_id: checkout.id,
        metadata: checkout.metadata,
      };
      memberships.set(membership.id, { ...membership, _affiliate: affiliate?.id ?? null });
      return paymentObject(
        recordPayment({
          amountCents: p.amountCents,
          checkout,
          membership,
          billingReason: 'subscription_create',
          affiliate,
          paidAt: p.paidAt,
        }),
      );
    },
    renew(paymentId, p = {}) {
      const original = paymentById.get(paymentId)!;
      const membership = memberships.get(original.membership.id)!;
      return paymentObject(
        recordPayment({
          amountCents: p.amountCents ?? Math.round(original.total * 100),
          checkout: null,
          membership,
          billingReason: 'subscription_cycle',
          affiliate: membership._affiliate ? affiliates.get(membership._affiliate) : undefined,
        }),
      );
    },
    foreignPayment(amountCents) {
      return paymentObject(
        recordPayment({
          amountCents,
          checkout: null,
          membership: null,
          billingReason: 'one_time',
          affiliate: undefined,
        }),
      );
    },
    refund(paymentId, amountCents) {
      const payment = paymentById.get(paymentId)!;
      payment.refunded_amount = cents(Math.round(payment.refunded_amount * 100) + amountCents);
      // Whop's clawback: the fee becomes what the payment's rest earns.
      const f = feeOf.get(paymentId);
      if (f) {
        const left = Math.max(0, f.amountCents - Math.round(payment.refunded_amount * 100));
        setFee(paymentId, Math.min(f.cents, Math.floor((left * f.percent) / 100)));
      }
      const refund = {
        id: id('rf'),
        amount: cents(amountCents),
        currency: 'usd',
        status: 'succeeded',
        provider: 'stripe',
        created_at: createdAt(),
        payment: { id: payment.id, metadata: payment.metadata, membership: payment.membership },
      };
      refunds.push(refund);
      return refund;
    },
    setAffiliateFee: setFee,
    affiliateFeeOf: (paymentId) => feeOf.get(paymentId)?.cents ?? 0,
    dispute(paymentId, amountCents, status) {
      const payment = paymentById.get(paymentId)!;
      return {
        id: id('dspt'),
        amount: cents(amountCents),
        currency: 'usd',
        status,
        created_at: createdAt(),
        payment: { id: payment.id, metadata: payment.metadata, membership: payment.membership },
      };
    },
    sign,
    async deliver(url, type, data, o = {}) {
      const body = JSON.stringify({
        id: o.id ?? `evt_${randomBytes(8).toString('hex')}`,
        api_version: 'v1',
        type,
        timestamp: new Date().toISOString(),
        company_id: companyId,
        data,
      });
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...sign(body) },
        body,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed };
    },
    async close() {
      for (const res of hung.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
