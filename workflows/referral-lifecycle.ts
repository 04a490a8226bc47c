// The life of one edge, `edge:<refereeId>`:
//   written -> waiting for activation (expires at the end of the window) -> vested
//   -> waiting for the first payment -> earning commission on each payment while the recurring
//   window lasts -> completed (kept open for the refund window, then closed).
// Refunds, fraud verdicts (hold, clear, void) and phase changes can arrive at any point. The fraud
// rules screen the edge where it is written, when its referee activates and before each payment is
// priced; a held edge neither vests nor earns until it is cleared. Every event carries an id; a
// repeat changes nothing, also after continue-as-new (the ids travel along).
// Money moves only through activities, each one ledger transaction with a business key; the
// amounts come from the pure rules in domain/edge-earnings.ts over this workflow's state
// (workflows/edge-state.ts, workflows/edge-money.ts).
import * as wf from '@temporalio/workflow';
import {
  verdictEventId,
  type EdgeLifecycleInput,
  type EdgeLifecycleView,
  type VerdictEvent,
} from '../domain/lifecycle.ts';
import type { ScreenInput } from '../activities/fraud.ts';
import {
  activatedSignal,
  paymentSignal,
  phaseChangedSignal,
  refundSignal,
  stateQuery,
  verdictSignal,
} from '../contracts/edge-lifecycle.ts';
import { edgeProgress, fraud } from './edge-activities.ts';
import { edgeMoney } from './edge-money.ts';
import { edgeState, type EdgeCarriedState } from './edge-state.ts';
import { workOrAlarm } from './work-or-alarm.ts';

/** Workflows that reached vesting before payments existed ended there; the marker keeps them replaying. */
export const PAYMENTS_PATCH = 'edge-payments-v1';
/**
 * Edges screened by the fraud rules (at edge write, at activation, before each payment is priced),
 * and a held edge that vests only once cleared. Histories recorded before it replay without it.
 */
export const SCREEN_PATCH = 'fraud-screen-v1';
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
  const onVerdict = edge.once((event: VerdictEvent) => {
    waiter.nudge();
    edge.verdict(event);
  });
  wf.setHandler(verdictSignal, onVerdict);

  // ---- Waiting for activation: the referee has to activate within the window ---------------------
  if (s.stage === 'awaiting_activation') {
    if (!carried && wf.patched(SCREEN_PATCH)) await screen({ edgeId, stage: 'edge_write' });
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
      if (wf.patched(SCREEN_PATCH)) view.hold = null; // an expired edge is no longer held for anything
      return edge.finish('expired');
    }
    let vestedAt = view.activatedAt!;
    if (wf.patched(SCREEN_PATCH)) {
      // The referee activated in time: a hold delays the vesting until it is cleared, and the
      // window no longer runs. Vested then, at the clearance; a void ends the edge instead.
      await screen({ edgeId, stage: 'activation' });
      if (view.hold && s.voidReason === null) {
        await wf.condition(() => view.hold === null || s.voidReason !== null);
        vestedAt = new Date(Date.now()).toISOString();
      }
      if (s.voidReason !== null) return voidEdge();
    }
    await edgeProgress.recordEdgeVested({ edgeId, vestedAt });
    if (!wf.patched(PAYMENTS_PATCH)) return edge.finish('vested'); // before payments existed the lifecycle ended here
    edge.enter('awaiting_first_payment', 'first_payment');
  }

  // ---- Vested, earning, completed: each payment priced, refunds taken back, commission released ---
  // when its holding period ends; a hold stops all of it until cleared.
  for (;;) {
    await waiter.until(edge.nextDue());
    if (s.voidReason !== null) return voidEdge();
    if (!view.hold && edge.unscreenedPayment() && wf.patched(SCREEN_PATCH)) await screenWaitingPayments();
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

  /**
   * Runs the fraud rules of a stage; a hold or a block is applied at once as the verdict the
   * screening wrote (its outbox message, delivered later under the same event id, is then a repeat).
   */
  async function screen(input: ScreenInput): Promise<void> {
    const result = await fraud.screenEdge(input);
    if ((result.decision === 'hold' || result.decision === 'block') && result.verdictId !== null)
      onVerdict({
        eventId: verdictEventId(result.verdictId),
        verdict: result.decision === 'block' ? 'void' : 'hold',
        reason: result.reason,
      });
  }

  /** Each waiting payment screened before it is priced, in arrival order; a hold or a block stops the rest. */
  async function screenWaitingPayments(): Promise<void> {
    for (let p = edge.unscreenedPayment(); p && !view.hold && s.voidReason === null; p = edge.unscreenedPayment()) {
      await screen({ edgeId, stage: 'payment', subject: p.paymentId });
      edge.screenedPayment(p.paymentId);
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
