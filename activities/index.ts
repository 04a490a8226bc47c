// All activities, built from their dependencies (no globals), registered by the worker.
import type { DatabasePool } from 'slonik';
import { DEFAULT_COMMISSION_SETTINGS, type CommissionSettings } from '../domain/commission.ts';
import { createCommissionActivities } from './commission.ts';
import { createEdgeProgressActivities } from './edge-progress.ts';
import { createPayoutActivities } from './payouts.ts';
import { createWaveActivities } from './waves.ts';
import { createLaunchActivities, LAUNCH_SIGNAL_CONCURRENCY } from './launch.ts';
import { createFraudRingActivities } from './fraud-rings.ts';
import type { RingSettings } from '../domain/fraud/rings.ts';
import { createFraudActivities } from './fraud.ts';
import type { FraudSettings } from '../domain/fraud/settings.ts';
import { createLateRefundActivities } from './late-refund.ts';
import type { Client } from '@temporalio/client';
import type { WavePlanSettings } from '../domain/waves.ts';
import type Stripe from 'stripe';
import type { FlavorTable } from '../domain/invite-flavors.ts';
import type { LinkGrants } from '../domain/seats.ts';
import { createWhopActivities } from './whop.ts';
import type { WhopClient } from '../platform/whop.ts';

// `temporal` and `taskQueue`: the client activities that signal workflows (the launch flip) use, and the queue they
// start workflows on.
export type ActivityDependencies = {
  db: DatabasePool;
  commission?: CommissionSettings;
  stripe?: Stripe | null;
  stripeRateLimitPerSecond?: number;
  payoutConcurrency?: number;
  wavePlan?: WavePlanSettings;
  temporal?: Client;
  taskQueue?: string;
  /** The ring scan's thresholds (domain/fraud/rings.ts DEFAULT_RING_SETTINGS unless given). */
  rings?: RingSettings;
  fraud?: FraudSettings;
  /** INVITE_FLAVORS and the LINK_* grants: what an inviter gets when the edge vests (defaults when left out). */
  flavors?: FlavorTable;
  links?: LinkGrants;
  /** Whop's client (platform/whop.ts); null or absent: Whop is not configured. */
  whop?: WhopClient | null;
};

export function createActivities(deps: ActivityDependencies) {
  return {
    ...createEdgeProgressActivities({
      db: deps.db,
      betaAutoBps: (deps.commission ?? DEFAULT_COMMISSION_SETTINGS).betaAutoBps,
      ...(deps.flavors ? { flavors: deps.flavors } : {}),
      ...(deps.links ? { links: deps.links } : {}),
    }),
    ...createCommissionActivities({ db: deps.db, settings: deps.commission ?? DEFAULT_COMMISSION_SETTINGS }),
    ...createPayoutActivities({
      db: deps.db,
      stripe: deps.stripe ?? null,
      stripeRateLimitPerSecond: deps.stripeRateLimitPerSecond ?? 90,
      concurrency: deps.payoutConcurrency ?? 32,
    }),
    ...createWaveActivities({ db: deps.db, ...(deps.wavePlan ? { plan: deps.wavePlan } : {}) }),
    ...createLaunchActivities({
      db: deps.db,
      temporal: deps.temporal ?? null,
      taskQueue: deps.taskQueue ?? null,
      betaAutoBps: (deps.commission ?? DEFAULT_COMMISSION_SETTINGS).betaAutoBps,
      concurrency: LAUNCH_SIGNAL_CONCURRENCY,
    }),
    ...createFraudRingActivities({ db: deps.db, ...(deps.rings ? { settings: deps.rings } : {}) }),
    ...createFraudActivities({ db: deps.db, ...(deps.fraud ? { settings: deps.fraud } : {}) }),
    ...createLateRefundActivities({ db: deps.db }),
    ...createWhopActivities({ db: deps.db, whop: deps.whop ?? null }),
  };
}
