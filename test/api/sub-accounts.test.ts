// Agency sub-accounts on the real stack: create and list, the cap for tenants that are not partners
// (409 past it, also when requests race), no cap for a partner, and a sub-account's referrals
// credited to the agency's partner through the edge's workflow and the ledger.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { TEST_KEYS, type TestApi } from '../support/app.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import type { TestDatabase } from '../support/database.ts';
import { partner, signup, uniqueEmail } from '../support/graph.ts';
import { eventually, type RunningWorker } from '../support/temporal.ts';

let stack: TestStack;
let database: TestDatabase;
let worker: RunningWorker;
let api: TestApi;

beforeAll(async () => {
  stack = await startStack('sub-accounts');
  ({ database, worker, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

const server = (path: string, json?: unknown) =>
  api.request(path, json === undefined ? { key: TEST_KEYS.server } : { json, key: TEST_KEYS.server });
const create = (tenantId: string, key: string, body: Record<string, unknown> = {}) =>
  api.request(`/v1/tenants/${tenantId}/sub-accounts`, {
    json: { name: 'Client shop', ownerEmail: uniqueEmail('client'), ...body },
    key,
  });
const subAccountCount = (tenantId: string) =>
  database.db.oneFirst(
    sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM tenants WHERE parent_tenant_id = ${tenantId}`,
  );

describe('sub-accounts', () => {
  it('an agency creates and lists sub-accounts, each a tenant with its owner; others see 404', async () => {
    const agency = await signup(api);
    const res = await create(agency.tenantId, agency.token, { name: 'Bakery', ownerEmail: 'Bakery.Owner@Example.com' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      parentTenantId: agency.tenantId,
      name: 'Bakery',
      owner: { email: 'bakery.owner@example.com' },
    });
    const list = await api.request(`/v1/tenants/${agency.tenantId}/sub-accounts`, { key: agency.token });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ data: [res.body], nextCursor: null, cap: 3 });
    const stranger = await signup(api);
    expect((await create(agency.tenantId, stranger.token)).status).toBe(404);
    expect((await api.request(`/v1/tenants/${agency.tenantId}/sub-accounts`, { key: stranger.token })).status).toBe(
      404,
    );
    expect((await api.request(`/v1/tenants/${agency.tenantId}/sub-accounts`, { key: TEST_KEYS.admin })).status).toBe(
      200,
    );
    // One level: a sub-account has none of its own.
    const nested = await create(res.body.id, TEST_KEYS.admin);
    expect(nested.status).toBe(409);
    expect(nested.body.error.code).toBe('sub_account_of_sub_account');
  });

  it('refuses bad input and a taken email, writing nothing', async () => {
    const agency = await signup(api);
    for (const body of [
      { name: '' },
      { ownerEmail: 'not-an-email' },
      { tenantId: agency.tenantId },
      { name: 'x'.repeat(201) },
    ]) {
      expect((await create(agency.tenantId, agency.token, body)).status).toBe(400);
    }
    const taken = await create(agency.tenantId, agency.token, { ownerEmail: agency.email });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('email_taken');
    expect((await create('not-a-uuid', TEST_KEYS.admin)).status).toBe(400);
    expect((await create(crypto.randomUUID(), TEST_KEYS.admin)).status).toBe(404);
    expect(await subAccountCount(agency.tenantId)).toBe(0);
  });

  it('holds a tenant that is not a partner to SUB_ACCOUNT_CAP, even when 10 requests race', async () => {
    const agency = await signup(api);
    const results = await Promise.all(Array.from({ length: 10 }, () => create(agency.tenantId, agency.token)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 409, 409, 409, 409, 409, 409, 409]);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'sub_account_cap_reached')).toBe(
      true,
    );
    expect(await subAccountCount(agency.tenantId)).toBe(3);
    // Pages through them.
    const first = await api.request(`/v1/tenants/${agency.tenantId}/sub-accounts?limit=2`, { key: agency.token });
    const second = await api.request(
      `/v1/tenants/${agency.tenantId}/sub-accounts?limit=2&cursor=${first.body.nextCursor}`,
      { key: agency.token },
    );
    expect([...first.body.data, ...second.body.data].map((s: { id: string }) => s.id).sort()).toEqual(
      results
        .filter((r) => r.status === 201)
        .map((r) => r.body.id)
        .sort(),
    );
    expect(second.body.nextCursor).toBeNull();
    expect(
      (await api.request(`/v1/tenants/${agency.tenantId}/sub-accounts?cursor=bogus`, { key: agency.token })).status,
    ).toBe(400);
  });

  it('lifts the cap for a partner', async () => {
    const agency = await signup(api);
    await partner(api, agency.tenantId);
    const results = await Promise.all(Array.from({ length: 6 }, () => create(agency.tenantId, agency.token)));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(201));
    const list = await api.request(`/v1/tenants/${agency.tenantId}/sub-accounts`, { key: agency.token });
    expect(list.body.cap).toBeNull();
    expect(list.body.data).toHaveLength(6);
  });

  it("credits a sub-account's referrals to the agency's partner, in the ledger and on the partner", async () => {
    const agency = await signup(api);
    await partner(api, agency.tenantId);
    const sub = await create(agency.tenantId, agency.token);
    const customer = await api.request('/v1/signups', {
      json: { email: uniqueEmail('customer'), ref: sub.body.owner.referralCode },
    });
    expect(customer.status).toBe(201);
    // The agency is an approved partner: the edge is intentional (it earns cash), like its own code's.
    expect(customer.body.edge).toMatchObject({
      referrerId: sub.body.owner.userId,
      kind: 'intentional',
      source: 'link',
    });
    const customerId = customer.body.user.id as string;
    expect((await server('/v1/activations', { userId: customerId })).status).toBe(202);
    const handle = worker.client.workflow.getHandle(`edge:${customerId}`);
    await eventually(async () =>
      (await handle.query(stateQuery)).state === 'awaiting_first_payment' ? true : undefined,
    );
    const paymentId = `ch_agency_${Date.now().toString(36)}`;
    expect((await server('/v1/payments', { paymentId, userId: customerId, amountCents: 4_999 })).status).toBe(201);
    const payment = await eventually(async () => {
      const res = await server(`/v1/payments/${paymentId}`);
      return res.body.commission?.status !== 'pending' ? res.body : undefined;
    });
    expect(payment.commission).toEqual({ status: 'earned', reason: null, cashCents: 999, credits: 249 });
    const pricing = await database.db.oneFirst(
      sql.type(
        z.object({ t: z.string() }),
      )`SELECT pricing -> 'beneficiary' ->> 'tenantId' AS t FROM payments WHERE id = ${paymentId}`,
    );
    expect(pricing).toBe(agency.tenantId);
    const stats = await eventually(async () => {
      const res = await api.request(`/v1/partners/${agency.tenantId}`, { key: TEST_KEYS.admin });
      return res.body.stats.totalEarningsCents === 999 ? res.body.stats : undefined;
    });
    expect(stats).toMatchObject({
      totalReferrals: 1,
      activeReferrals: 1,
      totalEarningsCents: 999,
      pendingPayoutCents: 999,
    });
  });
});
