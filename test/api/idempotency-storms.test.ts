// Idempotency storms (issue 17): on every creating route that honours Idempotency-Key, 50 identical
// requests under one key at once make one effect (rows counted, and ledger balances where the route
// posts) and get 50 identical answers (status and body); another body (or path, or query) under the
// same key is a 409. A single-use effect (a redemption, the launch) replays its first answer to all
// 50. The id-keyed routes (payments, refunds, credit spends) also hold without the header: one
// effect, one 201, the rest 200. And a signup whose answer was lost after its commit is answered on
// retry as a replay would be, not with 409 `email_taken`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { balanceOf } from '../../db/ledger.ts';
import { userCredits } from '../../domain/ledger-postings.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startFakeWhop, type FakeWhop } from '../support/fake-whop.ts';
import { signup, uniqueEmail } from '../support/graph.ts';

const STORM = 50;
let database: TestDatabase;
let api: TestApi;
let whop: FakeWhop;
const figures = { routes: 0, requests: 0, effects: 0, mismatchedAnswers: 0, conflicts: 0, lostAnswersReplayed: 0 };
const perRoute: string[] = [];

beforeAll(async () => {
  [database, whop] = await Promise.all([createTestDatabase(16), startFakeWhop()]);
  const config = testConfig(database.url, {
    WHOP_API_KEY: whop.apiKey,
    WHOP_BASE_URL: whop.baseUrl,
    WHOP_COMPANY_ID: whop.companyId,
    WHOP_WEBHOOK_SECRET: whop.webhookSecret,
  });
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
});
afterAll(async () => {
  console.log(
    `idempotency storms: ${figures.routes} routes, ${figures.requests} requests, ${figures.effects} effects, ` +
      `${figures.mismatchedAnswers} mismatched answers, ${figures.conflicts} conflicts (409) for another body; ` +
      `signups whose answer was lost, replayed on retry: ${figures.lostAnswersReplayed}\n` +
      perRoute.join('\n'),
  );
  await api?.close();
  await database?.drop();
  await whop?.close();
});

const count = (query: ReturnType<typeof sql.unsafe>) =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM (${query}) q`);

type Storm = {
  path: string;
  key?: string;
  /** The body; none (a POST without one) when left out. */
  json?: unknown;
  /** Another request under the same key: another body, and/or another path (`otherPath`). */
  other?: unknown;
  otherPath?: string;
  effects: () => Promise<number>;
  /** Replays may differ from the first answer only as the route documents (the signup's token). */
  firstAsReplayed?: (body: any) => unknown;
};

async function storm(s: Storm, seen?: (body: any) => void): Promise<{ status: number; body: any }> {
  figures.routes += 1;
  const idem = `storm-${randomUUID()}`;
  const send = (path: string, json: unknown) =>
    api.request(path, {
      ...(json === undefined ? { method: 'POST' } : { json }),
      ...(s.key ? { key: s.key } : {}),
      headers: { 'idempotency-key': idem },
    });
  const answers = await Promise.all(Array.from({ length: STORM }, () => send(s.path, s.json)));
  figures.requests += STORM;
  for (const a of answers) seen?.(a.body);
  const effects = await s.effects();
  figures.effects += effects;
  perRoute.push(
    `  POST ${s.path}: ${STORM} requests, ${effects} effect(s), statuses ${[...new Set(answers.map((a) => a.status))].join('/')}, ` +
      `${answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length} replayed`,
  );
  expect(effects).toBe(1);
  const first = answers.find((a) => a.headers.get('idempotent-replayed') !== 'true')!;
  expect(first).toBeDefined();
  expect(first.status).toBeLessThan(300);
  const expected = { status: first.status, body: s.firstAsReplayed ? s.firstAsReplayed(first.body) : first.body };
  const replays = answers.filter((a) => a !== first).map((a) => ({ status: a.status, body: a.body }));
  figures.mismatchedAnswers += replays.filter((r) => JSON.stringify(r) !== JSON.stringify(expected)).length;
  expect(replays).toEqual(Array.from({ length: STORM - 1 }, () => expected));
  const other = await send(s.otherPath ?? s.path, s.other);
  expect(other.status).toBe(409);
  expect(other.body.error.code).toBe('idempotency_key_reused');
  figures.conflicts += 1;
  expect(await s.effects()).toBe(1);
  return expected;
}

describe('idempotency storms: 50 identical requests under one key at once', () => {
  let partnerOwner: Awaited<ReturnType<typeof signup>>;
  let referee: Awaited<ReturnType<typeof signup>>;

  it('POST /v1/signups', async () => {
    const email = uniqueEmail('storm');
    await storm({
      path: '/v1/signups',
      json: { email },
      other: { email: uniqueEmail('other') },
      effects: () => count(sql.unsafe`SELECT 1 FROM users WHERE email = ${email}`),
      firstAsReplayed: (body) => ({ ...body, session: null }), // a token is handed out once, never replayed
    });
  });

  it('POST /v1/admin/partners', async () => {
    partnerOwner = await signup(api);
    await storm({
      path: '/v1/admin/partners',
      key: TEST_KEYS.admin,
      json: { tenantId: partnerOwner.tenantId },
      other: { tenantId: partnerOwner.tenantId, salesCommissionBps: 1_000 },
      effects: () => count(sql.unsafe`SELECT 1 FROM partners WHERE tenant_id = ${partnerOwner.tenantId}`),
    });
    const approved = await api.request(`/v1/admin/partners/${partnerOwner.tenantId}/approve`, {
      method: 'POST',
      key: TEST_KEYS.admin,
    });
    expect(approved.status).toBe(200);
    referee = await signup(api, { ref: partnerOwner.id });
  });

  const payment = (id: string, amountCents = 10_000) => ({
    paymentId: id,
    userId: referee.id,
    amountCents,
    currency: 'USD',
  });

  it('POST /v1/payments (and POST /v1/refunds)', async () => {
    const paymentId = `pay-${randomUUID()}`;
    await storm({
      path: '/v1/payments',
      key: TEST_KEYS.server,
      json: payment(paymentId),
      other: payment(paymentId, 20_000),
      effects: () => count(sql.unsafe`SELECT 1 FROM payments WHERE id = ${paymentId}`),
    });
    const refundId = `ref-${randomUUID()}`;
    await storm({
      path: '/v1/refunds',
      key: TEST_KEYS.server,
      json: { refundId, paymentId, amountCents: 2_500 },
      other: { refundId, paymentId, amountCents: 2_600 },
      effects: () => count(sql.unsafe`SELECT 1 FROM refunds WHERE payment_id = ${paymentId}`),
    });
  });

  it('POST /v1/cancellations', async () => {
    const cancellationId = `cancel-${randomUUID()}`;
    const at = new Date(Date.now() - 60_000).toISOString();
    await storm({
      path: '/v1/cancellations',
      key: TEST_KEYS.server,
      json: { cancellationId, userId: referee.id, cancelledAt: at },
      other: { cancellationId, userId: partnerOwner.id, cancelledAt: at },
      effects: () => count(sql.unsafe`SELECT 1 FROM cancellations WHERE id = ${cancellationId}`),
    });
  });

  it('POST /v1/admin/edges/{edgeId}/verdicts', async () => {
    const edgeId = referee.body.edge.id as string;
    const verdictId = `verdict-${randomUUID()}`;
    await storm({
      path: `/v1/admin/edges/${edgeId}/verdicts`,
      key: TEST_KEYS.admin,
      json: { verdictId, verdict: 'hold', reason: 'storm' },
      other: { verdictId, verdict: 'hold', reason: 'another reason' },
      effects: () => count(sql.unsafe`SELECT 1 FROM edge_verdicts WHERE edge_id = ${edgeId}`),
    });
  });

  let mintedCode: string;
  it('POST /v1/admin/invite-codes', async () => {
    const before = await count(sql.unsafe`SELECT 1 FROM invite_codes`);
    const first = await storm({
      path: '/v1/admin/invite-codes',
      key: TEST_KEYS.admin,
      json: { flavor: 'beta', count: 1, maxUses: 3 },
      other: { flavor: 'beta', count: 1, maxUses: 4 },
      effects: async () => (await count(sql.unsafe`SELECT 1 FROM invite_codes`)) - before,
    });
    mintedCode = first.body.data[0].code;
  });

  /** Admitted off the waitlist (what admitting a wave sets): only admitted users make personal codes. */
  const admitted = async () => {
    const user = await signup(api);
    await database.db.query(sql.unsafe`UPDATE users SET status = 'active', admitted_at = now() WHERE id = ${user.id}`);
    return user;
  };
  let personalCode: string;
  let redeemer: Awaited<ReturnType<typeof signup>>;

  it('POST /v1/invite-codes (a personal code)', async () => {
    const owner = await admitted();
    const first = await storm({
      path: '/v1/invite-codes',
      key: owner.token,
      json: { maxUses: 2 },
      other: { maxUses: 1 },
      effects: () => count(sql.unsafe`SELECT 1 FROM invite_codes WHERE owner_user_id = ${owner.id}`),
    });
    personalCode = first.body.code;
  });

  it('POST /v1/invite-codes/{code}/redeem: single use, its first answer replayed to all 50', async () => {
    redeemer = await signup(api);
    const first = await storm({
      path: `/v1/invite-codes/${personalCode}/redeem`,
      key: redeemer.token,
      otherPath: `/v1/invite-codes/${mintedCode}/redeem`, // another code under the same key
      effects: () => count(sql.unsafe`SELECT 1 FROM invite_redemptions WHERE user_id = ${redeemer.id}`),
    });
    expect(first.status).toBe(201);
    expect(first.body.creditsGranted).toBeGreaterThan(0);
    // One grant in the ledger, one edge from the code's owner.
    expect(await balanceOf(database.db, userCredits(redeemer.id))).toBe(first.body.creditsGranted);
    expect(await count(sql.unsafe`SELECT 1 FROM edges WHERE referee_id = ${redeemer.id}`)).toBe(1);
  });

  it('POST /v1/credits/spend (keyed by spendId): one spend, one 201 and 49 answering it again with 200', async () => {
    const before = await balanceOf(database.db, userCredits(redeemer.id));
    const spendId = `storm-spend-${randomUUID()}`;
    const body = { spendId, userId: redeemer.id, credits: 120, reason: 'storm build' };
    const spend = (json: unknown) => api.request('/v1/credits/spend', { json, key: TEST_KEYS.server });
    figures.routes += 1;
    const answers = await Promise.all(Array.from({ length: STORM }, () => spend(body)));
    figures.requests += STORM;
    const effects = await count(sql.unsafe`SELECT 1 FROM credit_spends WHERE id = ${spendId}`);
    figures.effects += effects;
    perRoute.push(
      `  POST /v1/credits/spend: ${STORM} requests, ${effects} effect(s), statuses ${answers.filter((a) => a.status === 201).length}x201 ` +
        `${answers.filter((a) => a.status === 200).length}x200`,
    );
    expect(effects).toBe(1);
    expect(answers.map((a) => a.status).sort((x, y) => y - x)).toEqual([
      201,
      ...Array.from({ length: STORM - 1 }, () => 200),
    ]);
    const bodies = answers.map((a) => JSON.stringify(a.body));
    figures.mismatchedAnswers += bodies.filter((b) => b !== bodies[0]).length;
    expect(new Set(bodies).size).toBe(1);
    expect(await balanceOf(database.db, userCredits(redeemer.id))).toBe(before - 120);
    const other = await spend({ ...body, credits: 121 });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('spend_id_conflict');
    figures.conflicts += 1;
    expect(await count(sql.unsafe`SELECT 1 FROM credit_spends WHERE id = ${spendId}`)).toBe(1);
    expect(await balanceOf(database.db, userCredits(redeemer.id))).toBe(before - 120);
  });

  it('POST /v1/referrals/track', async () => {
    const [referrer, another, user] = [await signup(api), await signup(api), await signup(api)];
    const first = await storm({
      path: '/v1/referrals/track',
      key: user.token,
      json: { ref: referrer.id },
      other: { ref: another.id },
      effects: () => count(sql.unsafe`SELECT 1 FROM edges WHERE referee_id = ${user.id}`),
    });
    expect(first.status).toBe(201);
  });

  it('POST /v1/admin/attributions', async () => {
    const [referrer, user] = [await signup(api), await signup(api)];
    const first = await storm({
      path: '/v1/admin/attributions',
      key: TEST_KEYS.admin,
      json: { refereeId: user.id, ref: referrer.id, reason: 'storm' },
      other: { refereeId: user.id, ref: referrer.id, reason: 'another reason' },
      effects: () => count(sql.unsafe`SELECT 1 FROM edges WHERE referee_id = ${user.id}`),
    });
    expect(first.status).toBe(201);
  });

  it('POST /v1/admin/waves', async () => {
    const name = `storm-${randomUUID()}`;
    const opensAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    await storm({
      path: '/v1/admin/waves',
      key: TEST_KEYS.admin,
      json: { name, seatCap: 5, opensAt },
      other: { name, seatCap: 6, opensAt },
      effects: () => count(sql.unsafe`SELECT 1 FROM waves WHERE name = ${name}`),
    });
  });

  const freshEdge = async () => {
    const referrer = await signup(api);
    return (await signup(api, { ref: referrer.id })).body.edge.id as string;
  };

  it('POST /v1/admin/fraud/holds/{id}/clear and /void', async () => {
    const edgeId = await freshEdge();
    const holdId = `storm-hold-${randomUUID()}`;
    const held = await api.request(`/v1/admin/edges/${edgeId}/verdicts`, {
      json: { verdictId: holdId, verdict: 'hold', reason: 'storm' },
      key: TEST_KEYS.admin,
    });
    expect(held.status).toBe(201);
    for (const decision of ['clear', 'void']) {
      const first = await storm({
        path: `/v1/admin/fraud/holds/${holdId}/${decision}`,
        key: TEST_KEYS.admin,
        json: { reason: `storm ${decision}` },
        other: { reason: 'another reason' },
        effects: () =>
          count(sql.unsafe`SELECT 1 FROM edge_verdicts WHERE resolves = ${holdId} AND verdict = ${decision}`),
      });
      expect(first.status).toBe(201);
    }
  });

  it('POST /v1/admin/edges/{id}/archive', async () => {
    const edgeId = await freshEdge();
    const first = await storm({
      path: `/v1/admin/edges/${edgeId}/archive`,
      key: TEST_KEYS.admin,
      json: { reason: 'storm', terms: 'Referral terms §4.2' },
      other: { reason: 'another reason' },
      effects: () => count(sql.unsafe`SELECT 1 FROM edge_verdicts WHERE edge_id = ${edgeId} AND verdict = 'void'`),
    });
    expect(first.status).toBe(201);
  });

  it('POST /v1/listings', async () => {
    const creator = await signup(api);
    await storm({
      path: '/v1/listings',
      key: creator.token,
      json: { title: 'Storm listing' },
      other: { title: 'Another listing' },
      effects: () => count(sql.unsafe`SELECT 1 FROM listings WHERE creator_id = ${creator.id}`),
    });
  });

  it('POST /v1/tenants/{id}/sub-accounts', async () => {
    const agency = await signup(api);
    await storm({
      path: `/v1/tenants/${agency.tenantId}/sub-accounts`,
      key: agency.token,
      json: { name: 'Storm sub-account', ownerEmail: uniqueEmail('sub') },
      other: { name: 'Storm sub-account', ownerEmail: uniqueEmail('sub') },
      effects: () => count(sql.unsafe`SELECT 1 FROM tenants WHERE parent_tenant_id = ${agency.tenantId}`),
    });
  });

  it('POST /v1/checkouts (against the fake Whop)', async () => {
    const buyer = await signup(api);
    const before = whop.checkouts.size;
    await storm({
      path: '/v1/checkouts',
      key: buyer.token,
      json: { planId: 'plan_storm' },
      other: { planId: 'plan_another' },
      effects: () => count(sql.unsafe`SELECT 1 FROM whop_checkouts WHERE buyer_id = ${buyer.id}`),
    });
    expect(whop.checkouts.size - before).toBe(1); // one checkout configuration created at Whop too
  });

  it('POST /v1/payout-cycles', async () => {
    const answers = new Set<string>();
    await storm(
      {
        path: '/v1/payout-cycles',
        key: TEST_KEYS.finance,
        json: { frequencies: ['monthly'] },
        other: { frequencies: ['weekly'] },
        // The cycle's row is written by its workflow (no worker here): the effect is the one workflow started.
        effects: async () => answers.size,
      },
      (body) => answers.add(body.workflowId),
    );
  });

  it('id-keyed routes without the header: one effect, one 201 and 49 repeats answering 200', async () => {
    const paymentId = `bare-${randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: STORM }, () =>
        api.request('/v1/payments', { json: payment(paymentId), key: TEST_KEYS.server }),
      ),
    );
    figures.requests += STORM;
    expect(answers.map((a) => a.status).sort((x, y) => y - x)).toEqual([
      201,
      ...Array.from({ length: STORM - 1 }, () => 200),
    ]); // concurrent repeats once answered 404 (payments) and 500 (refunds): races fixed in db/;
    expect(new Set(answers.map((a) => a.body.payment?.id ?? a.body.paymentId)).size).toBe(1);
    expect(await count(sql.unsafe`SELECT 1 FROM payments WHERE id = ${paymentId}`)).toBe(1);
    const refundId = `bare-${randomUUID()}`;
    const refunds = await Promise.all(
      Array.from({ length: STORM }, () =>
        api.request('/v1/refunds', { json: { refundId, paymentId, amountCents: 100 }, key: TEST_KEYS.server }),
      ),
    );
    figures.requests += STORM;
    expect(refunds.map((a) => a.status).sort((x, y) => y - x)).toEqual([
      201,
      ...Array.from({ length: STORM - 1 }, () => 200),
    ]); // concurrent repeats once answered 404 (payments) and 500 (refunds): races fixed in db/;
    expect(await count(sql.unsafe`SELECT 1 FROM refunds WHERE id = ${refundId}`)).toBe(1);
  });

  // Last: the program goes public for the rest of this file's database.
  it('POST /v1/admin/launch: once, its first answer replayed to all 50; another query under the key is a 409', async () => {
    const first = await storm({
      path: '/v1/admin/launch?pageSize=100',
      key: TEST_KEYS.admin,
      // The launch has no body: its query is the request (it once was left out of the key's hash,
      // so another query under the same key replayed the launch instead of a 409).
      otherPath: '/v1/admin/launch?pageSize=200',
      effects: () => count(sql.unsafe`SELECT 1 FROM launch`),
    });
    expect(first.status).toBe(202);
  });
});

describe('a signup whose answer was lost after its commit', () => {
  const post = (json: unknown, idem?: string) =>
    api.request('/v1/signups', { json, ...(idem ? { headers: { 'idempotency-key': idem } } : {}) });
  /** The connection was cut between the signup's commit and storing its answer: no answer is stored. */
  const loseAnswer = (idem: string) => database.db.query(sql.unsafe`DELETE FROM idempotency_keys WHERE key = ${idem}`);
  const users = (email: string) => count(sql.unsafe`SELECT 1 FROM users WHERE email = ${email}`);

  it('a retry with the same key and body answers the same user and edge as a replay would, with no token', async () => {
    const referrer = await signup(api);
    const body = { email: uniqueEmail('lost'), ref: referrer.id };
    const idem = `lost-${randomUUID()}`;
    const first = await post(body, idem);
    expect(first.status).toBe(201);
    expect(first.body.session.token).toEqual(expect.any(String));
    expect(first.body.edge).not.toBeNull();
    await loseAnswer(idem);
    const retry = await post(body, idem); // once 409 email_taken
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('set-cookie')).toBeNull(); // no session handed out again
    expect(retry.body).toEqual({ ...first.body, session: null });
    figures.lostAnswersReplayed += 1;
    // Its answer is stored now: the next retry is a plain replay of it.
    const again = await post(body, idem);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(retry.body);
    expect(await users(body.email)).toBe(1);
    expect(await count(sql.unsafe`SELECT 1 FROM edges WHERE referee_id = ${first.body.user.id}`)).toBe(1);
  });

  it('with an invite code: the same user and redemption, the credits granted once', async () => {
    const minted = await api.request('/v1/admin/invite-codes', {
      json: { flavor: 'beta', count: 1, maxUses: 5 },
      key: TEST_KEYS.admin,
    });
    expect(minted.status).toBe(201);
    const body = { email: uniqueEmail('lost-code'), code: minted.body.data[0].code };
    const idem = `lost-${randomUUID()}`;
    const first = await post(body, idem);
    expect(first.status).toBe(201);
    expect(first.body.redemption).not.toBeNull();
    await loseAnswer(idem);
    const retry = await post(body, idem);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual({ ...first.body, session: null });
    figures.lostAnswersReplayed += 1;
    expect(await users(body.email)).toBe(1);
    expect(await count(sql.unsafe`SELECT 1 FROM invite_redemptions WHERE user_id = ${first.body.user.id}`)).toBe(1);
    expect(await balanceOf(database.db, userCredits(first.body.user.id))).toBe(first.body.redemption.creditsGranted);
  });

  it('another key, no key, or another body under the key still finds the email taken (409), changing nothing', async () => {
    const body = { email: uniqueEmail('lost-other') };
    const idem = `lost-${randomUUID()}`;
    expect((await post(body, idem)).status).toBe(201);
    await loseAnswer(idem);
    for (const [json, key] of [
      [body, `another-${randomUUID()}`],
      [body, undefined],
      [{ ...body, deviceId: 'another-device' }, idem],
    ] as const) {
      const res = await post(json, key);
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('email_taken');
    }
    expect(await users(body.email)).toBe(1);
  });
});
