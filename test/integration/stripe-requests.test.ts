// Our Stripe requests against stripe-mock, Stripe's own mock, which validates every request
// against Stripe's OpenAPI spec: a payout page's transfer is a valid Stripe request, and what
// stripe-mock refuses is recorded on the payout rather than crashing the cycle.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import { sql } from 'slonik';
import { createPayoutActivities } from '../../activities/payouts.ts';
import { findPayout } from '../../db/payouts.ts';
import { createStripe } from '../../platform/stripe.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { payablePartner } from '../support/payouts.ts';

let database: TestDatabase;
const stripeMockUrl = () => {
  const url = process.env.TEST_STRIPE_MOCK_URL;
  if (!url)
    throw new Error('TEST_STRIPE_MOCK_URL is not set: run the suite through `npm test`, which starts stripe-mock');
  return url;
};

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe('Stripe requests', () => {
  it('a payout transfer made through the official SDK is a valid Stripe request', async () => {
    const { tenantId } = await payablePartner(database.db, 7_500);
    const stripe = createStripe({
      secretKey: 'sk_test_123',
      apiBase: stripeMockUrl(),
      webhookSecret: null,
      rateLimitPerSecond: 100,
      concurrency: 4,
    });
    const activities = createPayoutActivities({
      db: database.db,
      stripe,
      stripeRateLimitPerSecond: 100,
      concurrency: 4,
    });
    await database.db.query(
      sql.unsafe`INSERT INTO payout_cycles (id, frequencies, trigger, requested_by) VALUES ('mock-cycle', '{monthly}', 'manual', 'test')`,
    );
    const page = await new MockActivityEnvironment().run(activities.payPage, {
      cycleId: 'mock-cycle',
      frequencies: ['monthly' as const],
      at: new Date().toISOString(),
      after: null,
      limit: 100,
    });
    expect(page).toMatchObject({ seen: 1, paid: 1, paidCents: 7_500, failed: 0 });
    const payout = await findPayout(database.db, `${tenantId}:${new Date().toISOString().slice(0, 7)}`);
    // stripe-mock answers fixtures: a transfer id proves it accepted the request as valid.
    expect(payout).toMatchObject({ status: 'paid', stripe_transfer_id: expect.stringMatching(/^tr_/) });
  });

  it('stripe-mock refuses a malformed request; the SDK raises it as an invalid request', async () => {
    const stripe = createStripe({
      secretKey: 'sk_test_123',
      apiBase: stripeMockUrl(),
      webhookSecret: null,
      rateLimitPerSecond: 100,
      concurrency: 4,
    })!;
    await expect(
      stripe.transfers.create(
        { amount: 'ten' as never, currency: 'usd', destination: 'acct_123' },
        { idempotencyKey: 'payout:bad' },
      ),
    ).rejects.toMatchObject({ type: 'StripeInvalidRequestError' });
  });
});
