// A stateful fake of the part of Stripe's API payouts use (POST /v1/transfers), speaking Stripe's
// wire format so the official SDK talks to it unchanged. It keeps accounts, a platform balance and
// transfers, replays a repeated Idempotency-Key with the first answer (as Stripe does), and fails on
// demand: 500s, 429s, a response lost after the transfer was made, insufficient funds, accounts
// that cannot receive; and it can enforce a rate limit. It counts what it saw, so tests can assert
// that no payout was ever transferred twice. (stripe-mock checks request shapes; this checks logic.)
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeTransfer = {
  id: string;
  amount: number;
  currency: string;
  destination: string;
  metadata: Record<string, string>;
  idempotencyKey: string | null;
};
export type Fault = { kind: '500' | '429' | '401' | 'drop_after_success' | 'hang' } | { kind: 'delay'; ms: number };

export type FakeStripe = {
  url: string;
  transfers: FakeTransfer[];
  /** Accounts by id: whether payouts are enabled. Unknown destinations are refused. */
  accounts: Map<string, { payoutsEnabled: boolean }>;
  /** The platform balance in cents; null: unlimited. */
  balanceCents: number | null;
  /** Faults served in order, one per transfer request, before normal handling. */
  faults: Fault[];
  /** Requests per second beyond which the fake answers 429 (null: no limit). */
  rateLimitPerSecond: number | null;
  stats: { requests: number; rateLimited: number; replayed: number };
  /** Resolves the next time a request arrives (for crash tests: "the worker is calling Stripe now"). */
  nextRequest(): Promise<void>;
  /** Transfers per payout id beyond the first: must always be zero. */
  duplicateTransfers(): number;
  close(): Promise<void>;
};

const stripeError = (status: number, type: string, code: string | undefined, message: string) => ({
  status,
  body: { error: { type, ...(code ? { code } : {}), message } },
});

export async function startFakeStripe(): Promise<FakeStripe> {
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const waiters: (() => void)[] = [];
  const hung: http.ServerResponse[] = [];
  let windowStart = 0;
  let windowCount = 0;

  const fake: FakeStripe = {
    url: '',
    transfers: [],
    accounts: new Map(),
    balanceCents: null,
    faults: [],
    rateLimitPerSecond: null,
    stats: { requests: 0, rateLimited: 0, replayed: 0 },
    nextRequest: () => new Promise<void>((resolve) => waiters.push(resolve)),
    duplicateTransfers() {
      const byPayout = new Map<string, number>();
      for (const t of fake.transfers)
        byPayout.set(t.metadata.payout_id ?? t.id, (byPayout.get(t.metadata.payout_id ?? t.id) ?? 0) + 1);
      return [...byPayout.values()].reduce((s, n) => s + (n - 1), 0);
    },
    async close() {
      for (const res of hung) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function createTransfer(form: URLSearchParams, key: string | null): { status: number; body: unknown } {
    const amount = Number(form.get('amount'));
    const destination = form.get('destination') ?? '';
    if (!Number.isInteger(amount) || amount <= 0)
      return stripeError(400, 'invalid_request_error', 'parameter_invalid_integer', 'Invalid amount');
    const account = fake.accounts.get(destination);
    if (!account)
      return stripeError(400, 'invalid_request_error', 'account_invalid', `No such destination: '${destination}'`);
    if (!account.payoutsEnabled)
      return stripeError(
        400,
        'invalid_request_error',
        'transfers_not_allowed',
        'The destination account cannot receive transfers',
      );
    if (fake.balanceCents !== null && amount > fake.balanceCents)
      return stripeError(
        400,
        'invalid_request_error',
        'balance_insufficient',
        'You have insufficient available funds in your Stripe account',
      );
    if (fake.balanceCents !== null) fake.balanceCents -= amount;
    const metadata: Record<string, string> = {};
    for (const [k, v] of form) {
      const m = /^metadata\[(.+)\]$/.exec(k);
      if (m) metadata[m[1]!] = v;
    }
    const transfer: FakeTransfer = {
      id: `tr_${randomBytes(8).toString('hex')}`,
      amount,
      currency: form.get('currency') ?? 'usd',
      destination,
      metadata,
      idempotencyKey: key,
    };
    fake.transfers.push(transfer);
    return {
      status: 200,
      body: {
        id: transfer.id,
        object: 'transfer',
        amount,
        currency: transfer.currency,
        destination,
        metadata,
        transfer_group: form.get('transfer_group'),
        livemode: false,
        reversed: false,
        created: Math.floor(Date.now() / 1000),
      },
    };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      fake.stats.requests += 1;
      waiters.splice(0).forEach((w) => w());
      const send = (r: { status: number; body: unknown }, headers: Record<string, string> = {}) => {
        res.writeHead(r.status, {
          'content-type': 'application/json',
          'request-id': `req_${randomBytes(6).toString('hex')}`,
          ...headers,
        });
        res.end(JSON.stringify(r.body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/transfers')
        return send(
          stripeError(
            404,
            'invalid_request_error',
            'resource_missing',
            `Unrecognized request URL (${req.method}: ${req.url})`,
          ),
        );

      if (fake.rateLimitPerSecond !== null) {
        const now = Date.now();
        if (now - windowStart >= 1_000) [windowStart, windowCount] = [now, 0];
        if (++windowCount > fake.rateLimitPerSecond) {
          fake.stats.rateLimited += 1;
          return send(
            stripeError(429, 'invalid_request_error', 'rate_limit', 'Too many requests hit the API too quickly.'),
            { 'stripe-should-retry': 'true' },
          );
        }
      }
      const key = (req.headers['idempotency-key'] as string | undefined) ?? null;
      const fault = fake.faults.shift();
      if (fault?.kind === '500') return send(stripeError(500, 'api_error', undefined, 'An unknown error occurred'));
      if (fault?.kind === '429') {
        fake.stats.rateLimited += 1;
        return send(
          stripeError(429, 'invalid_request_error', 'rate_limit', 'Too many requests hit the API too quickly.'),
          { 'stripe-should-retry': 'true' },
        );
      }
      if (fault?.kind === '401')
        return send(stripeError(401, 'invalid_request_error', undefined, 'Invalid API Key provided: sk_test_****'));
      if (fault?.kind === 'hang') return void hung.push(res); // never answered: the caller is stuck in the call

      const handle = () => {
        const seen = key ? idempotent.get(key) : undefined;
        if (seen) fake.stats.replayed += 1;
        const answer = seen ?? createTransfer(new URLSearchParams(Buffer.concat(chunks).toString('utf8')), key);
        if (key && !seen && answer.status < 500) idempotent.set(key, answer);
        if (fault?.kind === 'drop_after_success') return void res.destroy(); // the transfer exists; the answer is lost
        send(answer, seen ? { 'idempotent-replayed': 'true' } : {});
      };
      if (fault?.kind === 'delay')
        setTimeout(handle, fault.ms); // processed, then answered late
      else handle();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
