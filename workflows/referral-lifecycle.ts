// The life of one edge, `edge:<refereeId>`:
//   written -> waiting for activation (expires at the end of the window) -> vested
//   -> waiting for the first payment -> earning commission on each payment while the recurring
//   window lasts -> completed (kept open for the refund window, then closed).
// Refunds, fraud verdicts (hold, clear, void) and phase changes can arrive at any point. Every
// event carries an id; a repeat changes nothing, also after continue-as-new (the ids travel along).
// Money moves only through activities, each one ledger transaction with a business key; the
// amounts come from the pure rules in domain/edge-earnings.ts over this workflow's state
// (workflows/edge-state.ts, workflows/edge-money.ts).
import * as wf from '@temporalio/workflow';
import type { EdgeLifecycleInput, EdgeLifecycleView } from '../domain/lifecycle.ts';
import {
  activatedSignal,
  paymentSignal,
  phaseChangedSignal,
  refundSignal,
  stateQuery,
  verdictSignal,
} from '../contracts/edge-lifecycle.ts';
import { edgeProgress } from './edge-activities.ts';
import { edgeMoney } from './edge-money.ts';
import { edgeState, type EdgeCarriedState } from './edge-state.ts';
import { workOrAlarm } from './work-or-alarm.ts';

/** Workflows that reached vesting before payments existed ended there; the marker keeps them replaying. */
export const PAYMENTS_PATCH = 'edge-payments-v1';
/** A run continues as new once its history reaches this many events (far below Temporal's limits). */
export const DEFAULT_HISTORY_LIMIT = 1_000;

export async function referralLifecycle(
  input: EdgeLifecycleInput,
  carried?: EdgeCarriedState,
): Promise<EdgeLifecycleView> {
  const edgeId = input.edgeId;
  const edge = edgeState(input, carried);
  const { s, view } = edge;
  const money = edgeMoney(edge, edgeId);
  const waiter = workOrAlarm(edge.hasWork);

  wf.setHandler(stateQuery, () => view);
  wf.setHandler(activatedSignal, (event) => void (view.activatedAt ??= event.activatedAt)); // the first activation counts
  wf.setHandler(
    paymentSignal,
    edge.once((event) => void s.payments.push(event)),
  );
  wf.setHandler(
    refundSignal,
    edge.once((event) => void s.refunds.push(event)),
  );
  wf.setHandler(
    phaseChangedSignal,
    edge.once((event) => edge.phaseChanged(event.phase)),
  );
  wf.setHandler(
    verdictSignal,
    edge.once((event) => {
      waiter.nudge();
      edge.verdict(event);
    }),
  );

  // ---- Waiting for activation: the referee has to activate within the window ---------------------
  if (s.stage === 'awaiting_activation') {
    const deadline = new Date(view.activationDeadline);
    const activated = await wf.condition(
      () => view.activatedAt !== null || s.voidReason !== null,
      Math.max(0, deadline.getTime() - Date.now()),
      { summary: 'activation window ends' },
    );
    if (s.voidReason !== null) return voidEdge();
    if (!activated) {
      await edgeProgress.recordEdgeExpired({ edgeId, expiredAt: deadline.toISOString() });
      await money.markWaitingPaymentsNotEligible('edge_expired');
      return edge.finish('expired');
    }
    await edgeProgress.recordEdgeVested({ edgeId, vestedAt: view.activatedAt! });
    if (!wf.patched(PAYMENTS_PATCH)) return edge.finish('vested'); // before payments existed the lifecycle ended here
    edge.enter('awaiting_first_payment', 'first_payment');
  }

  // ---- Vested, earning, completed: each payment priced, refunds taken back, commission released ---
  // when its holding period ends; a hold stops all of it until cleared.
  for (;;) {
    await waiter.until(edge.nextDue());
    if (s.voidReason !== null) return voidEdge();
    if (!view.hold) {
      await money.priceWaitingPayments();
      await money.takeBackRefunds();
      await money.releaseDueCommissions();
    }
    if (s.stage === 'earning' && view.commissionWindowEndsAt && Date.parse(view.commissionWindowEndsAt) <= Date.now())
      edge.enter('completed', 'refund_window');
    const closes = edge.closesAt();
    if (s.stage === 'completed' && !view.hold && closes !== null && closes <= Date.now() && !edge.hasWork()) {
      await edgeProgress.recordEdgeCompleted({ edgeId, completedAt: new Date(Date.now()).toISOString() });
      view.waitingFor = null;
      return view;
    }
    if (
      wf.workflowInfo().historyLength >= (input.historyLimit ?? DEFAULT_HISTORY_LIMIT) ||
      wf.workflowInfo().continueAsNewSuggested
    ) {
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof referralLifecycle>(input, edge.carried());
    }
  }

  /** Void under the terms: everything still kept is taken back, and the edge earns nothing more. */
  async function voidEdge(): Promise<EdgeLifecycleView> {
    await money.takeBackEverything();
    await money.markWaitingPaymentsNotEligible('edge_voided');
    await edgeProgress.recordEdgeVoided({ edgeId, voidedAt: new Date(Date.now()).toISOString() });
    view.hold = null;
    return edge.finish('voided');
  }
}
