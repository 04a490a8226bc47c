// The life of one edge, `edge:<refereeId>`: written -> waiting for activation (expires at the end
// of the window) -> vested. The lifecycle issue continues it through payments and commission.
import * as wf from '@temporalio/workflow';
import { activationDeadline, type EdgeLifecycleInput, type EdgeLifecycleView, type LifecycleState } from '../domain/lifecycle.ts';
import type { EdgeProgressActivities } from '../activities/edge-progress.ts';
import { LifecycleState as LifecycleStateKey } from './search-attributes.ts';

export type ActivationEvent = { eventId: string; activatedAt: string };

export const activatedSignal = wf.defineSignal<[ActivationEvent]>('activated');
export const stateQuery = wf.defineQuery<EdgeLifecycleView>('state');

const edgeProgress = wf.proxyActivities<EdgeProgressActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function referralLifecycle(input: EdgeLifecycleInput): Promise<EdgeLifecycleView> {
  const deadline = activationDeadline(new Date(input.writtenAt), input.activationWindowDays);
  const view: EdgeLifecycleView = {
    edgeId: input.edgeId,
    state: 'awaiting_activation',
    kind: input.kind,
    phase: input.phase,
    activationDeadline: deadline.toISOString(),
    activatedAt: null,
    waitingFor: 'activation',
  };
  const enter = (state: LifecycleState, waitingFor: EdgeLifecycleView['waitingFor']) => {
    view.state = state;
    view.waitingFor = waitingFor;
    wf.upsertSearchAttributes([{ key: LifecycleStateKey, value: state }]);
  };

  wf.setHandler(stateQuery, () => view);
  wf.setHandler(activatedSignal, (event) => {
    view.activatedAt ??= event.activatedAt; // the first activation counts; repeats change nothing
  });

  const activated = await wf.condition(() => view.activatedAt !== null, Math.max(0, deadline.getTime() - Date.now()));
  if (!activated) {
    await edgeProgress.recordEdgeExpired({ edgeId: input.edgeId, expiredAt: deadline.toISOString() });
    enter('expired', null);
    return view;
  }

  await edgeProgress.recordEdgeVested({ edgeId: input.edgeId, vestedAt: view.activatedAt! });
  enter('vested', null);
  return view;
}
