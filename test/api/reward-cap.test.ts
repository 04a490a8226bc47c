// Hole 6 of issue 14 on the real app and PostgreSQL: a partner's cash and credit rates may add up to
// at most MAX_TOTAL_REWARD_BPS (50% by default). Creating or changing a partner past it is a 400
// naming both rates that writes nothing, also when two changes race (one raising each rate).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup } from '../support/graph.ts';

let database: TestDatabase;
let api: TestApi;
let lowCap: TestApi; // the same database with MAX_TOTAL_REWARD_BPS=3000

beforeAll(async () => {
  database = await createTestDatabase();
  const config = testConfig(database.url);
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
  const low = testConfig(database.url, { MAX_TOTAL_REWARD_BPS: '3000' });
  lowCap = await startTestApi({ config: low, db: database.db, temporal: createTemporalClient(low) });
});
afterAll(async () => {
  await api?.close();
  await lowCap?.close();
  await database?.drop();
});

const create = (json: Record<string, unknown>, via = api) =>
  via.request('/v1/admin/partners', { json, key: TEST_KEYS.admin });
const patch = (tenantId: string, json: Record<string, unknown>, via = api) =>
  via.request(`/v1/admin/partners/${tenantId}`, { method: 'PATCH', json, key: TEST_KEYS.admin });
const get = (tenantId: string) => api.request(`/v1/partners/${tenantId}`, { key: TEST_KEYS.admin });

function expectOverCap(res: { status: number; body: any }) {
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('reward_rates_over_cap');
  expect(res.body.error.message).toMatch(/salesCommissionBps/);
  expect(res.body.error.message).toMatch(/creditCommissionBps/);
}

describe('hole 6: cash and credit rates together are capped', () => {
  it('refuses a partner created over the cap, writing nothing; at the cap it is made', async () => {
    const owner = await signup(api);
    const over = await create({ tenantId: owner.tenantId, salesCommissionBps: 10_000, creditCommissionBps: 10_000 });
    expectOverCap(over);
    expect(over.body.error.message).toMatch(/5000 bps/);
    expectOverCap(await create({ tenantId: owner.tenantId, salesCommissionBps: 4_600 })); // + the default 5% credits
    expect((await get(owner.tenantId)).status).toBe(404);
    const atCap = await create({ tenantId: owner.tenantId, salesCommissionBps: 3_000, creditCommissionBps: 2_000 });
    expect(atCap.status).toBe(201);
  });

  it('refuses a change that would pass the cap, naming the rate changed, and changes nothing', async () => {
    const owner = await signup(api);
    expect((await create({ tenantId: owner.tenantId })).status).toBe(201); // 20% + 5%
    const credit = await patch(owner.tenantId, { creditCommissionBps: 3_001, payoutFrequency: 'weekly' });
    expectOverCap(credit);
    expect(credit.body.error.param).toBe('creditCommissionBps');
    expect((await get(owner.tenantId)).body).toMatchObject({
      salesCommissionBps: 2_000,
      creditCommissionBps: 500,
      payoutFrequency: 'monthly',
    });
    expect((await patch(owner.tenantId, { salesCommissionBps: 4_500 })).body).toMatchObject({
      salesCommissionBps: 4_500,
      creditCommissionBps: 500,
    });
    expect((await patch(owner.tenantId, { payoutThresholdCents: 1_000 })).status).toBe(200);
  });

  it('two changes racing, one raising each rate, cannot together pass the cap', async () => {
    for (let round = 0; round < 5; round++) {
      const owner = await signup(api);
      await create({ tenantId: owner.tenantId, salesCommissionBps: 1_000, creditCommissionBps: 0 });
      const [a, b] = await Promise.all([
        patch(owner.tenantId, { salesCommissionBps: 4_000 }),
        patch(owner.tenantId, { creditCommissionBps: 4_000 }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 400]);
      const now = (await get(owner.tenantId)).body;
      expect(now.salesCommissionBps + now.creditCommissionBps).toBeLessThanOrEqual(5_000);
    }
  });

  it('MAX_TOTAL_REWARD_BPS sets the cap', async () => {
    const owner = await signup(api);
    expectOverCap(await create({ tenantId: owner.tenantId, salesCommissionBps: 2_600 }, lowCap));
    expect((await create({ tenantId: owner.tenantId, salesCommissionBps: 2_500 }, lowCap)).status).toBe(201);
    expectOverCap(await patch(owner.tenantId, { creditCommissionBps: 501 }, lowCap));
  });
});
