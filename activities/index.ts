// All activities, built from their dependencies (no globals), registered by the worker.
import type { DatabasePool } from 'slonik';
import { DEFAULT_COMMISSION_SETTINGS, type CommissionSettings } from '../domain/commission.ts';
import { createCommissionActivities } from './commission.ts';
import { createEdgeProgressActivities } from './edge-progress.ts';
import { createPayoutActivities } from './payouts.ts';
import { createWaveActivities } from './waves.ts';
import type { WavePlanSettings } from '../domain/waitlist.ts';
import type Stripe from 'stripe';

export type ActivityDependencies = { db: DatabasePool; commission?: CommissionSettings; stripe?: Stripe | null; stripeRateLimitPerSecond?: number; payoutConcurrency?: number; wavePlan?: WavePlanSettings };

export function createActivities(deps: ActivityDependencies) {
  return {
    ...createEdgeProgressActivities(deps),
    ...createCommissionActivities({ db: deps.db, settings: deps.commission ?? DEFAULT_COMMISSION_SETTINGS }),
    ...createPayoutActivities({ db: deps.db, stripe: deps.stripe ?? null, stripeRateLimitPerSecond: deps.stripeRateLimitPerSecond ?? 90, concurrency: deps.payoutConcurrency ?? 32 }),
    ...createWaveActivities({ db: deps.db, ...(deps.wavePlan ? { plan: deps.wavePlan } : {}) }),
  };
}
