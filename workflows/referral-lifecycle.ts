// The life of one edge, `edge:<refereeId>`:
//   written -> waiting for activation (expires at the end of the window) -> vested
//   -> waiting for the first payment -> earning commission on each payment while the recurring
//   window lasts -> completed (kept open for the refund window, then closed).
// Refunds, fraud verdicts (hold, clear, void) and phase changes can arrive at any point. Every
// event carries an id; a repeat changes nothing, also after continue-as-new (the ids travel along).
// Money moves only through activities, each one ledger transaction with a business key; the
// amounts come from the pure rules in domain/edge-earnings.ts over this workflow's state.
import * as wf from '@temporalio/workflow';
import { commissionWindowEnd, type NotEligibleReason } from '../domain/commission.ts';
import {
  applyRefund,
  closesAt,
  NO_EARNINGS,
  pendingReleases,
  recordPricedPayment,
  release,
  voidAll,
  type EdgeEarnings,
  type PricedPayment,
} from '../domain/edge-earnings.ts';
import {
  activationDeadline,
  type EdgeLifecycleInput,
  type EdgeLifecycleView,
  type LifecycleState,
  type PaymentEvent,
  type RefundEvent,
  type WaitingFor,
} from '../domain/lifecycle.ts';
import type { EdgeProgressActivities } from '../activities/edge-progress.ts';
import type { CommissionActivities, PricedCommission } from '../activities/commission.ts';
import {
  LifecycleState as LifecycleStateKey,
  ProgramPhase as ProgramPhaseKey,
} from '../contracts/search-attributes.ts';
import {
  activatedSignal,
  paymentSignal,
  phaseChangedSignal,
  refundSignal,
  stateQuery,
  verdictSignal,
} from '../contracts/edge-lifecycle.ts';
import { workOrAlarm, type Due } from './work-or-alarm.ts';

/** Workflows that reached vesting before payments existed ended there; the marker keeps them replaying. */
export const PAYMENTS_PATCH = 'edge-payments-v1';
/** A run continues as new once its history reaches this many events (far below Temporal's limits). */
export const DEFAULT_HISTORY_LIMIT = 1_000;

// Attempts are unbounded on purpose: a PostgreSQL outage must delay an edge's money, never fail its
// workflow and lose it. The interval is bounded so work resumes within a minute of recovery; what
// no retry can fix, the activities throw as named non-retryable failures.
const retry = { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: Infinity } as const;
const edgeProgress = wf.proxyActivities<EdgeProgressActivities>({ startToCloseTimeout: '30 seconds', retry });
// Short PostgreSQL transactions, run as local activities: inside the workflow task, with no
// activity task round trip through the server per payment (half the history events). One that
// dies with its worker runs again when the workflow task is retried, idempotent by its key.
const money = wf.proxyLocalActivities<CommissionActivities>({ startToCloseTimeout: '10 seconds', retry });

/** Everything a run hands to the next one at continue-as-new; runs already going pass this shape. */
export type EdgeCarriedState = {
  view: EdgeLifecycleView;
  /** The lifecycle stage beneath a hold. */
  stage: LifecycleState;
  seen: string[];
  payments: PaymentEvent[];
  refunds: RefundEvent[];
  priced: Record<string, PricedPayment>;
  voidReason: string | null;
  lastEarningAt: string | null;
};

function freshState(input: EdgeLifecycleInput): EdgeCarriedState {
  const deadline = activationDeadline(new Date(input.writtenAt), input.activationWindowDays).toISOString();
  return {
    view: {
      edgeId: input.edgeId,
      state: 'awaiting_activation',
      kind: input.kind,
      phase: input.phase,
      activationDeadline: deadline,
      activatedAt: null,
      waitingFor: 'activation',
      earned: { ...NO_EARNINGS },
      payments: { earning: 0, notEligible: 0 },
      firstPaymentAt: null,
      commissionWindowEndsAt: null,
      hold: null,
    },
    stage: 'awaiting_activation',
    seen: [],
    payments: [],
    refunds: [],
    priced: {},
    voidReason: null,
    lastEarningAt: null,
  };
}

const STAGE_WAITS_FOR: Partial<Record<LifecycleState, WaitingFor>> = {
  awaiting_activation: 'activation',
  awaiting_first_payment: 'first_payment',
  earning: 'payments',
  completed: 'refund_window',
};

export async function referralLifecycle(
  input: EdgeLifecycleInput,
  carried?: EdgeCarriedState,
): Promise<EdgeLifecycleView> {
  const s = carried ?? freshState(input);
  const view = s.view;
  const seen = new Set(s.seen);
  const edgeId = input.edgeId;
  const waiter = workOrAlarm(hasWork);

  wf.setHandler(stateQuery, () => view);
  wf.setHandler(activatedSignal, (event) => void (view.activatedAt ??= event.activatedAt)); // the first activation counts
  wf.setHandler(
    paymentSignal,
    once((event) => void s.payments.push(event)),
  );
  wf.setHandler(
    refundSignal,
    once((event) => void s.refunds.push(event)),
  );
  wf.setHandler(
    phaseChangedSignal,
    once((event) => {
      view.phase = event.phase;
      wf.upsertSearchAttributes([{ key: ProgramPhaseKey, value: event.phase }]);
    }),
  );
  wf.setHandler(
    verdictSignal,
    once((event) => {
      waiter.nudge();
      if (event.verdict === 'void') s.voidReason ??= event.reason;
      else if (event.verdict === 'hold')
        view.hold ??= { reason: event.reason, since: new Date(Date.now()).toISOString() };
      else view.hold = null;
      view.waitingFor = view.hold ? 'clearance' : (STAGE_WAITS_FOR[s.stage] ?? null);
      showState();
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
      await markWaitingPaymentsNotEligible('edge_expired');
      return finish('expired');
    }
    await edgeProgress.recordEdgeVested({ edgeId, vestedAt: view.activatedAt! });
    if (!wf.patched(PAYMENTS_PATCH)) return finish('vested'); // before payments existed the lifecycle ended here
    enter('awaiting_first_payment', 'first_payment');
  }

  // ---- Vested, earning, completed: each payment priced, refunds taken back, commission released ---
  // when its holding period ends; a hold stops all of it until cleared.
  for (;;) {
    await waiter.until(nextDue());
    if (s.voidReason !== null) return voidEdge();
    if (!view.hold) {
      await priceWaitingPayments();
      await takeBackRefunds();
      await releaseDueCommissions();
    }
    if (s.stage === 'earning' && view.commissionWindowEndsAt && Date.parse(view.commissionWindowEndsAt) <= Date.now())
      enter('completed', 'refund_window');
    const closes = closesAt(earnings(), s.lastEarningAt);
    if (s.stage === 'completed' && !view.hold && closes !== null && closes <= Date.now() && !hasWork()) {
      await edgeProgress.recordEdgeCompleted({ edgeId, completedAt: new Date(Date.now()).toISOString() });
      view.waitingFor = null;
      return view;
    }
    if (
      wf.workflowInfo().historyLength >= (input.historyLimit ?? DEFAULT_HISTORY_LIMIT) ||
      wf.workflowInfo().continueAsNewSuggested
    ) {
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof referralLifecycle>(input, { ...s, seen: [...seen] });
    }
  }

  /** Prices every payment waiting, in arrival order, in one activity; the first that earns opens the window. */
  async function priceWaitingPayments(): Promise<void> {
    const batch = s.payments.splice(0);
    if (batch.length === 0) return;
    const results = await money.pricePayments({
      edgeId,
      firstPaymentAt: view.firstPaymentAt,
      payments: batch.map((p) => ({ paymentId: p.paymentId, amountCents: p.amountCents, paidAt: p.paidAt })),
    });
    batch.forEach((payment, i) => recordPricing(payment, results[i]!));
  }

  function recordPricing(payment: PaymentEvent, priced: PricedCommission): void {
    keep(recordPricedPayment(earnings(), payment, priced.status === 'earned' ? priced : null, Date.now()));
    if (priced.status === 'not_eligible') return void (view.payments.notEligible += 1);
    view.payments.earning += 1;
    s.lastEarningAt = new Date(Date.now()).toISOString();
    if (view.firstPaymentAt !== null) return;
    view.firstPaymentAt = payment.paidAt;
    const end = commissionWindowEnd(priced.terms, new Date(payment.paidAt));
    view.commissionWindowEndsAt = end?.toISOString() ?? null;
    if (end === null || end.getTime() <= Date.now()) enter('completed', 'refund_window');
    else enter('earning', 'payments');
  }

  /** Refunds whose payment this edge has priced, in arrival order; others wait for their payment. */
  async function takeBackRefunds(): Promise<void> {
    const waiting: RefundEvent[] = [];
    for (const refund of s.refunds) {
      const change = applyRefund(earnings(), refund);
      if (change === null) {
        waiting.push(refund);
        continue;
      }
      if (change.post) await money.clawBackCommission({ ...change.post, edgeId });
      keep(change.next);
    }
    s.refunds = waiting;
  }

  async function releaseDueCommissions(): Promise<void> {
    for (const { paymentId } of pendingReleases(earnings())) {
      const change = release(earnings(), paymentId, Date.now());
      if (change === null) continue;
      await money.releaseCommission({ ...change.post, edgeId });
      keep(change.next);
    }
  }

  /** Void under the terms: everything still kept is taken back, and the edge earns nothing more. */
  async function voidEdge(): Promise<EdgeLifecycleView> {
    const { posts, next } = voidAll(earnings());
    for (const post of posts) await money.clawBackCommission({ ...post, edgeId });
    keep(next);
    await markWaitingPaymentsNotEligible('edge_voided');
    await edgeProgress.recordEdgeVoided({ edgeId, voidedAt: new Date(Date.now()).toISOString() });
    view.hold = null;
    return finish('voided');
  }

  async function markWaitingPaymentsNotEligible(reason: NotEligibleReason): Promise<void> {
    if (s.payments.length > 0)
      await money.markPaymentsNotEligible({ paymentIds: s.payments.map((p) => p.paymentId), reason });
    s.payments = [];
  }

  /** The next moment something falls due without an event. A hold stops the clock. */
  function nextDue(): Due | null {
    if (view.hold) return null;
    const due: Due[] = pendingReleases(earnings()).map((r) => ({
      at: r.at,
      summary: `commission of payment ${r.paymentId} becomes payable`,
    }));
    if (s.stage === 'earning' && view.commissionWindowEndsAt)
      due.push({ at: Date.parse(view.commissionWindowEndsAt), summary: 'recurring commission window closes' });
    const closes = closesAt(earnings(), s.lastEarningAt);
    if (s.stage === 'completed' && closes !== null) due.push({ at: closes, summary: 'refund window closes' });
    return due.reduce<Due | null>((first, d) => (first === null || d.at < first.at ? d : first), null);
  }

  function hasWork(): boolean {
    if (s.voidReason !== null) return true;
    if (view.hold) return false;
    return s.payments.length > 0 || s.refunds.some((r) => s.priced[r.paymentId] !== undefined);
  }

  function earnings(): EdgeEarnings {
    return { priced: s.priced, earned: view.earned };
  }
  function keep(next: EdgeEarnings): void {
    s.priced = next.priced;
    view.earned = next.earned;
  }

  function showState(): void {
    const state: LifecycleState = view.hold ? 'held' : s.stage;
    if (state === view.state) return;
    view.state = state;
    wf.upsertSearchAttributes([{ key: LifecycleStateKey, value: state }]);
  }
  function enter(stage: LifecycleState, waitingFor: WaitingFor | null): void {
    s.stage = stage;
    view.waitingFor = view.hold ? 'clearance' : waitingFor;
    showState();
  }
  function finish(stage: LifecycleState): EdgeLifecycleView {
    enter(stage, null);
    return view;
  }
  /** Runs `handle` for an event the first time its id is seen. */
  function once<E extends { eventId: string }>(handle: (event: E) => void): (event: E) => void {
    return (event) => {
      if (seen.has(event.eventId)) return;
      seen.add(event.eventId);
      handle(event);
    };
  }
}
