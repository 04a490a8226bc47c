// The referee built an app: stamp the user, and tell the edge's workflow (starting it first if the
// relay has not yet), so the activation is never lost to the outbox's lag.
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { findEdgeByReferee, markActivated, type EdgeRow } from '../db/users.ts';
import { activatedSignal } from '../workflows/referral-lifecycle.ts';
import { toSearchAttributePairs } from '../workflows/search-attributes.ts';
import { edgeLifecycleInput, edgeLifecycleStart } from './edge-lifecycle.ts';
import { notFound } from './errors.ts';

export type ActivationDeps = { db: DatabasePool; temporal: Client; taskQueue: string; activationWindowDays: number };

export async function recordActivation(deps: ActivationDeps, input: { userId: string }): Promise<{ userId: string; activatedAt: Date; edge: EdgeRow | null }> {
  const user = await markActivated(deps.db, input.userId);
  if (!user || !user.activated_at) throw notFound('user_not_found', `No user ${input.userId}.`, 'userId');
  const edge = await findEdgeByReferee(deps.db, user.id);
  if (edge) {
    const start = edgeLifecycleStart(edgeLifecycleInput(edge, deps.activationWindowDays));
    await deps.temporal.workflow.signalWithStart(start.workflowType, {
      workflowId: start.workflowId,
      taskQueue: deps.taskQueue,
      args: start.args,
      typedSearchAttributes: toSearchAttributePairs(start.searchAttributes),
      signal: activatedSignal,
      // The event id is the user's: one activation per referee, so a repeat is the same event.
      signalArgs: [{ eventId: `activation:${user.id}`, activatedAt: user.activated_at.toISOString() }],
    });
  }
  return { userId: user.id, activatedAt: user.activated_at, edge };
}
