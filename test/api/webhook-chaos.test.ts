// Webhook chaos (issue 17): the same Stripe events for several Connect accounts sent to two fresh
// databases, once in Stripe's clean order and once duplicated, shuffled (and sent a few at a time),
// among deliveries that must be refused: signatures a day old or from the future, events created in
// the future, wrong secrets, tampered bodies, garbled or missing headers. The refused ones get a 400
// and change nothing; the rest converge to the clean order's state (partner status, events handled).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import Stripe from 'stripe';
import { z } from 'zod';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { partner, userInTenant } from '../support/graph.ts';

const WEBHOOK_SECRET = 'whsec_chaos_test_secret_0123456789';
const stripe = new Stripe('sk_test_chaos');
const DAY = 86_400;
const HOUR = 3_600;

type Site = { database: TestDatabase; api: TestApi };
let clean: Site;
let chaos: Site;

/** A small seeded generator, so a failing run can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  };
}
const SEED = Number(process.env.CHAOS_SEED ?? 17);

const STATUSES = ['pending', 'restricted', 'enabled', 'disabled'] as const;
type Status = (typeof STATUSES)[number];
/** A Connect account object whose `connectStatus` is `status`. */
function accountObject(id: string, status: Status) {
  return {
    id,
    object: 'account',
    payouts_enabled: status === 'enabled',
    details_submitted: status !== 'pending',
    requirements: {
      disabled_reason:
        status === 'restricted' ? 'requirements.past_due' : status === 'disabled' ? 'rejected.fraud' : null,
    },
  };
}

type StripeEvent = { id: string; object: 'event'; type: string; created: number; data: { object: unknown } };
const hex = (r: ReturnType<typeof random>, n: number) =>
  Array.from({ length: n }, () => '0123456789abcdef'[r.int(16)]).join('');

/** Accounts, the partners owning them (one account has none) and each account's events in Stripe's order. */
function scenario(now: number) {
  const r = random(SEED);
  const accounts = Array.from({ length: 6 }, (_, i) => ({
    tenantId: randomUUID(),
    account: `acct_chaos${i}${hex(r, 10)}`,
    owned: i < 5,
  }));
  const events: (StripeEvent & { status?: Status; account: string })[] = [];
  for (const { account } of accounts) {
    // The first events are more than a day old (Stripe retries for days), the last a few minutes.
    let created = now - DAY - 2 * HOUR;
    const count = 5 + r.int(4);
    for (let i = 0; i < count; i++) {
      // One in four shares the previous event's second: the event id breaks the tie.
      created = i > 0 && r.int(4) === 0 ? created : created + 60 + r.int(4 * HOUR);
      const status = r.pick(STATUSES);
      events.push({
        id: `evt_${hex(r, 16)}`,
        object: 'event',
        type: 'account.updated',
        created: Math.min(created, now - 120),
        data: { object: accountObject(account, status) },
        status,
        account,
      });
      if (r.int(3) === 0) {
        const type = r.pick(['transfer.created', 'payout.paid', 'transfer.reversed'] as const);
        const object = type.startsWith('transfer')
          ? { id: `tr_${hex(r, 12)}`, object: 'transfer', amount: 100 + r.int(10_000), destination: account }
          : { id: `po_${hex(r, 12)}`, object: 'payout', amount: 100 + r.int(10_000), status: 'paid' };
        events.push({
          id: `evt_${hex(r, 16)}`,
          object: 'event',
          type,
          created: Math.min(created, now - 120),
          data: { object },
          account,
        });
      }
    }
  }
  // Stripe's order: by creation, the id breaking ties (byte order, as the database compares them).
  const byCreation = (a: StripeEvent, b: StripeEvent) =>
    a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  events.sort(byCreation);
  return { accounts, events, rng: r };
}

/** A delivery; its signature header is made when it is sent (`at`: now, in Unix seconds), so a slow run stays fresh. */
type Delivery = {
  label: string;
  payload: string;
  header: (at: number) => string | undefined;
  bad: boolean;
  eventId?: string;
};
const signedAt = (payload: string, timestamp: number, secret = WEBHOOK_SECRET) =>
  stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });

async function deliver(site: Site, d: Delivery): Promise<{ status: number; body: any }> {
  const header = d.header(Math.floor(Date.now() / 1000));
  const res = await fetch(`${site.api.baseUrl}/webhooks/stripe`, {
    method: 'POST',
    body: d.payload,
    headers: {
      'content-type': 'application/json',
      ...(header === undefined ? {} : { 'stripe-signature': header }),
    },
  });
  return { status: res.status, body: await res.json() };
}

/** What the webhooks decide: each partner's account and status, every event handled, any payout. */
async function state(site: Site) {
  const db = site.database.db;
  const partners = await db.any(
    sql.type(z.object({ tenant_id: z.string(), account: z.string().nullable(), status: z.string() }))`
      SELECT tenant_id, stripe_account_id AS account, stripe_account_status AS status FROM partners ORDER BY tenant_id`,
  );
  const events = await db.anyFirst(
    sql.type(z.object({ e: z.string() }))`SELECT id || ' ' || type AS e FROM stripe_events ORDER BY id`,
  );
  const payouts = await db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM payouts`);
  return { partners, events, payouts };
}

async function site(accounts: { tenantId: string; account: string; owned: boolean }[]): Promise<Site> {
  const database = await createTestDatabase();
  const config = testConfig(database.url, {
    STRIPE_SECRET_KEY: 'sk_test_chaos',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  const api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
  const created = { database, api };
  for (const a of accounts.filter((x) => x.owned)) await sitePartner(created, a.tenantId, a.account);
  return created;
}

/** An approved partner paid through the given Connect account, its status pending. */
async function sitePartner(s: Site, tenantId: string, account: string) {
  await userInTenant(s.database.db, tenantId);
  await partner(s.api, tenantId);
  await s.database.db.query(
    sql.unsafe`UPDATE partners SET stripe_account_id = ${account}, stripe_account_status = 'pending' WHERE tenant_id = ${tenantId}`,
  );
}

const now = Math.floor(Date.now() / 1000);
const { accounts, events, rng } = scenario(now);

beforeAll(async () => {
  clean = await site(accounts);
  chaos = await site(accounts);
});
afterAll(async () => {
  for (const s of [clean, chaos]) {
    await s?.api.close();
    await s?.database.drop();
  }
});

describe('Stripe webhook chaos', () => {
  it('refuses the bad deliveries and converges to the clean order', async () => {
    // (a) The clean order, each event once, freshly signed.
    for (const e of events) {
      const payload = JSON.stringify(e);
      const res = await deliver(clean, { label: 'clean', payload, header: (at) => signedAt(payload, at), bad: false });
      expect([e.id, res.status, res.body.duplicate]).toEqual([e.id, 200, false]);
    }
    const expected = await state(clean);
    // The clean order ends at each owned account's last status in Stripe's order (the suite can fail).
    const last = new Map<string, Status>();
    for (const e of events) if (e.status) last.set(e.account, e.status);
    expect(expected.partners).toEqual(
      accounts
        .filter((a) => a.owned)
        .map((a) => ({ tenant_id: a.tenantId, account: a.account, status: last.get(a.account)! }))
        .sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : 1)),
    );
    expect(expected.events).toHaveLength(events.length);

    // (b) Every event one to three times, some a day later (Stripe signs each retry afresh), among
    // deliveries that must be refused.
    const good: Delivery[] = [];
    let duplicates = 0;
    for (const e of events) {
      const payload = JSON.stringify(e);
      const copies = 1 + rng.int(3);
      duplicates += copies - 1;
      for (let i = 0; i < copies; i++)
        good.push({ label: 'good', payload, header: (at) => signedAt(payload, at), bad: false, eventId: e.id });
    }
    const bad: Delivery[] = [];
    const pickEvent = () => rng.pick(events);
    for (let i = 0; i < 4; i++) {
      // A delivery captured and replayed a day later with its day-old signature.
      const payload = JSON.stringify(pickEvent());
      bad.push({ label: 'signature a day old', payload, header: (at) => signedAt(payload, at - DAY), bad: true });
    }
    for (let i = 0; i < 4; i++) {
      // Signed for an hour from now: a known event, and one we never sent in the clean order.
      const known = JSON.stringify(pickEvent());
      bad.push({
        label: 'signature from the future',
        payload: known,
        header: (at) => signedAt(known, at + HOUR),
        bad: true,
      });
      const a = rng.pick(accounts);
      const unknown = JSON.stringify({
        id: `evt_future_sig_${i}`,
        object: 'event',
        type: 'account.updated',
        created: now - 60,
        data: { object: accountObject(a.account, 'disabled') },
      });
      bad.push({
        label: 'signature from the future',
        payload: unknown,
        header: (at) => signedAt(unknown, at + HOUR),
        bad: true,
      });
    }
    for (const a of accounts) {
      // Created an hour from now, freshly signed: it would win every account's order if taken.
      const payload = JSON.stringify({
        id: `evt_future_created_${a.account}`,
        object: 'event',
        type: 'account.updated',
        created: now + HOUR,
        data: { object: accountObject(a.account, 'disabled') },
      });
      bad.push({ label: 'created in the future', payload, header: (at) => signedAt(payload, at), bad: true });
    }
    for (let i = 0; i < 3; i++) {
      const e = pickEvent();
      const payload = JSON.stringify(e);
      bad.push({
        label: 'wrong secret',
        payload,
        header: (at) => signedAt(payload, at, 'whsec_someone_else_0123'),
        bad: true,
      });
      // Another status than the one signed (always a change: the same bytes would verify).
      const tampered = JSON.stringify({
        ...e,
        data: { object: accountObject(e.account, e.status === 'enabled' ? 'disabled' : 'enabled') },
      });
      bad.push({ label: 'tampered body', payload: tampered, header: (at) => signedAt(payload, at), bad: true });
    }
    const any = JSON.stringify(pickEvent());
    bad.push({ label: 'garbled header', payload: any, header: () => 't=abc,v1=zz', bad: true });
    bad.push({ label: 'no signature', payload: any, header: () => undefined, bad: true });

    // Shuffled (Fisher-Yates), then sent four at a time, so some also race each other.
    const deliveries = [...good, ...bad];
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    // Reordered: events whose first delivery comes after a later event of the same account.
    const order = new Map(events.map((e, i) => [e.id, i]));
    const newestSeen = new Map<string, number>();
    const firstSeen = new Set<string>();
    let reordered = 0;
    for (const d of deliveries) {
      if (d.bad || firstSeen.has(d.eventId!)) continue;
      firstSeen.add(d.eventId!);
      const e = events[order.get(d.eventId!)!]!;
      const newest = newestSeen.get(e.account) ?? -1;
      if (order.get(e.id)! < newest) reordered++;
      else newestSeen.set(e.account, order.get(e.id)!);
    }

    const unexpected: string[] = [];
    let refused = 0;
    for (let i = 0; i < deliveries.length; i += 4) {
      const batch = deliveries.slice(i, i + 4);
      const results = await Promise.all(batch.map((d) => deliver(chaos, d)));
      batch.forEach((d, k) => {
        const res = results[k]!;
        if (d.bad) {
          if (res.status === 400 || res.status === 401) refused++;
          else unexpected.push(`${d.label}: ${res.status} ${JSON.stringify(res.body)}`);
        } else if (res.status !== 200)
          unexpected.push(`${d.label} ${d.eventId}: ${res.status} ${JSON.stringify(res.body)}`);
      });
    }
    const got = await state(chaos);
    const mismatches =
      expected.partners.filter((p, i) => JSON.stringify(p) !== JSON.stringify(got.partners[i])).length +
      expected.events.filter((e) => !got.events.includes(e)).length +
      got.events.filter((e) => !expected.events.includes(e)).length +
      Math.abs(expected.payouts - got.payouts);
    console.log(
      `webhook chaos (seed ${SEED}): events ${events.length}, deliveries ${deliveries.length}, duplicates ${duplicates}, ` +
        `reordered ${reordered}, refused ${refused}/${bad.length}, mismatches ${mismatches}`,
    );
    expect(unexpected).toEqual([]);
    expect(refused).toBe(bad.length);
    expect(reordered).toBeGreaterThan(0);
    expect(got).toEqual(expected);
    expect(mismatches).toBe(0);
  });

  it("keeps each account in its own order: a partner moved to another account takes that account's events", async () => {
    const tenantId = randomUUID();
    const [first, second] = [`acct_first${hex(rng, 10)}`, `acct_second${hex(rng, 10)}`];
    await sitePartner(clean, tenantId, first);
    const event = (account: string, status: Status, created: number) => {
      const payload = JSON.stringify({
        id: `evt_${hex(rng, 16)}`,
        object: 'event',
        type: 'account.updated',
        created,
        data: { object: accountObject(account, status) },
      });
      return deliver(clean, { label: 'order', payload, header: (at) => signedAt(payload, at), bad: false });
    };
    const status = () =>
      clean.database.db.oneFirst(
        sql.type(
          z.object({ s: z.string() }),
        )`SELECT stripe_account_status AS s FROM partners WHERE tenant_id = ${tenantId}`,
      );
    expect((await event(first, 'enabled', now - 60)).status).toBe(200);
    expect((await event(first, 'restricted', now - 600)).body.duplicate).toBe(false);
    expect(await status()).toBe('enabled');
    const moved = await clean.api.request(`/v1/admin/partners/${tenantId}`, {
      method: 'PATCH',
      json: { stripeAccountId: second },
      key: TEST_KEYS.admin,
    });
    expect(moved.status).toBe(200);
    // Created before the first account's last event, but the first about the second account.
    expect((await event(second, 'pending', now - 3_600)).status).toBe(200);
    expect(await status()).toBe('pending');
    expect((await event(second, 'disabled', now - 7_200)).status).toBe(200);
    expect(await status()).toBe('pending');
  });
});
