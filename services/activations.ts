// The referee built an app: stamp the user, and tell the edge's workflow (starting it first if the
// relay has not yet), so the activation is never lost to the outbox's lag. An edge whose workflow
// has already ended (its activation window expired) is not started again.
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { markActivated } from '../db/users.ts';
import { edgeLifecycleStarts, findEdgeByReferee, type EdgeRow } from '../db/edges.ts';
import { activatedSignal } from '../contracts/edge-lifecycle.ts';
import { activationEventId } from '../domain/lifecycle.ts';
import { signalWithStart } from '../platform/workflow-delivery.ts';
import { notFound } from './errors.ts';
import { startEntitlementsOnActivation } from '../db/waitlist.ts';
import { clientSightings, type SignalSettings } from './fraud-signals.ts';

export type ActivationDeps = {
  db: DatabasePool;
  temporal: Client;
  taskQueue: string;
  /** Whether the device the activation names is recorded as a fraud signal (default: yes). */
  fraud?: SignalSettings;
};

export async function recordActivation(
  deps: ActivationDeps,
  input: { userId: string; deviceId?: string | undefined },
): Promise<{ userId: string; activatedAt: Date; edge: EdgeRow | null; edgeOpen: boolean }> {
  // The caller is the product's server, not the user's browser: its address says nothing of the user.
  const sightings = await clientSightings(deps.fraud, { deviceId: input.deviceId });
  const user = await markActivated(deps.db, input.userId, sightings);
  if (!user || !user.activated_at) throw notFound('user_not_found', `No user ${input.userId}.`, 'userId');
  // Rewards that vest on the user's own activation (1 month of Pro at 10 vested referrals) start now.
  await startEntitlementsOnActivation(deps.db, user.id, user.activated_at);
  const edge = await findEdgeByReferee(deps.db, user.id);
  if (!edge) return { userId: user.id, activatedAt: user.activated_at, edge: null, edgeOpen: false };
  // Started as the relay would start it, from the edge's current row.
  const start = (await edgeLifecycleStarts(deps.db, [edge.id])).get(edge.id)!;
  const event = { eventId: activationEventId(user.id), activatedAt: user.activated_at.toISOString() };
  const delivered = await signalWithStart(deps.temporal, start, deps.taskQueue, activatedSignal, [event]);
  return { userId: user.id, activatedAt: user.activated_at, edge, edgeOpen: delivered === 'delivered' };
}
