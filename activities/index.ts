// All activities, built from their dependencies (no globals), registered by the worker.
import type { DatabasePool } from 'slonik';
import { createEdgeProgressActivities } from './edge-progress.ts';

export type ActivityDependencies = { db: DatabasePool };

export function createActivities(deps: ActivityDependencies) {
  return {
    ...createEdgeProgressActivities(deps),
  };
}
