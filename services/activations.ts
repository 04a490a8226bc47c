// The referee built an app: stamp the user, and tell the edge's workflow (starting it first if the
// relay has not yet), so the activation is never lost to the outbox's lag. An edge whose workflow
// has already ended (its activation window expired) is not started again.
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { edgeWorkflowId } from '../domain/edge.ts';
import { findEdgeByReferee, markActivated, type EdgeRow } from '../db/users.ts';
import { workflowStartOf } from '../db/outbox.ts';
import { activatedSignal } from '../contracts/edge-lifecycle.ts';
import { signalWithStart } from '../platform/workflow-delivery.ts';
import { notFound } from './errors.ts';
import { startEntitlementsOnActivation } from '../db/waitlist.ts';

export type ActivationDeps = { db: DatabasePool; temporal: Client; taskQueue: string };

export async function recordActivation(deps: ActivationDeps, input: { userId: string }): Promise<{ userId: string; activatedAt: Date; edge: EdgeRow | null; edgeOpen: boolean }> {
  const user = await markActivated(deps.db, input.userId);
  if (!user || !user.activated_at) throw notFound('user_not_found', `No user ${input.userId}.`, 'userId');
  // Rewards that vest on the user's own activation (1 month of Pro at 10 vested referrals) start now.
  await startEntitlementsOnActivation(deps.db, user.id, user.activated_at);
  const edge = await findEdgeByReferee(deps.db, user.id);
  if (!edge) return { userId: user.id, activatedAt: user.activated_at, edge: null, edgeOpen: false };
  // Started exactly as the outbox row written with the edge says.
  const start = await workflowStartOf(deps.db, edgeWorkflowId(user.id));
  if (!start) throw new Error(`edge ${edge.id} has no workflow start recorded`);
  // The event id is the user's: one activation per referee, so a repeat is the same event.
  const event = { eventId: `activation:${user.id}`, activatedAt: user.activated_at.toISOString() };
  const delivered = await signalWithStart(deps.temporal, start, deps.taskQueue, activatedSignal, [event]);
  return { userId: user.id, activatedAt: user.activated_at, edge, edgeOpen: delivered === 'delivered' };
}
