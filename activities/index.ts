// All activities, built from their dependencies (no globals), registered by the worker.
import type { DatabasePool } from 'slonik';
import { DEFAULT_COMMISSION_SETTINGS, type CommissionSettings } from '../domain/commission.ts';
import { createCommissionActivities } from './commission.ts';
import { createEdgeProgressActivities } from './edge-progress.ts';

export type ActivityDependencies = { db: DatabasePool; commission?: CommissionSettings };

export function createActivities(deps: ActivityDependencies) {
  return {
    ...createEdgeProgressActivities(deps),
    ...createCommissionActivities({ db: deps.db, settings: deps.commission ?? DEFAULT_COMMISSION_SETTINGS }),
  };
}
