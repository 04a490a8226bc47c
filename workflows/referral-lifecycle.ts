// The life of one edge, `edge:<refereeId>`:
//   written -> waiting for activation (expires at the end of the window) -> vested
//   -> waiting for the first payment -> earning commission on each payment while the recurring
//   window lasts -> completed (kept open for the refund window, then closed).
// Refunds, fraud verdicts (hold, clear, void) and phase changes can arrive at any point. Every
// event carries an id; a repeat changes nothing, also after continue-as-new (the ids travel along).
// Money moves only through activities, each one ledger transaction with a business key; the
// amounts come from this workflow's state and the pure rules in domain/commission.ts.
import * as wf from '@temporalio/workflow';
import { clawbackFor, commissionWindowEnd, keptOn, type CommissionTerms } from '../domain/commission.ts';
import type { Beneficiary } from '../domain/ledger-postings.ts';
import {
  activationDeadline,
  REFUND_WINDOW_DAYS,
  type EdgeLifecycleInput,
  type EdgeLifecycleView,
  type LifecycleState,
  type PaymentEvent,
  type RefundEvent,
  type WaitingFor,
} from '../domain/lifecycle.ts';
import type { EdgeProgressActivities } from '../activities/edge-progress.ts';
import type { CommissionActivities, PricedCommission } from '../activities/commission.ts';
import { LifecycleState as LifecycleStateKey, ProgramPhase as ProgramPhaseKey } from '../contracts/search-attributes.ts';
import { activatedSignal, paymentSignal, phaseChangedSignal, refundSignal, stateQuery, verdictSignal } from '../contracts/edge-lifecycle.ts';

/** Workflows that reached vesting before payments existed ended there; the marker keeps them replaying. */
export const PAYMENTS_PATCH = 'edge-payments-v1';
/** A run continues as new once its history reaches this many events (far below Temporal's limits). */
export const DEFAULT_HISTORY_LIMIT = 1_000;

const DAY_MS = 86_400_000;

const edgeProgress = wf.proxyActivities<EdgeProgressActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// Short PostgreSQL transactions, run as local activities: inside the workflow task, with no
// activity task round trip through the server per payment (half the history events). One that
// dies with its worker runs again when the workflow task is retried, idempotent by its key.
const money = wf.proxyLocalActivities<CommissionActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** A payment this edge has priced, and what has happened to its commission since. */
type PricedPayment = {
  paymentId: string;
  amountCents: number;
  refundedCents: number;
  /** Null: the payment earned nothing (refunds of it have nothing to take back). */
  terms: CommissionTerms | null;
  beneficiary: Beneficiary | null;
  /** When its commission becomes payable; null once released (or when it earned nothing). */
  releaseAt: string | null;
  released: boolean;
};

/** Everything a run hands to the next one at continue-as-new. */
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
  return {
    view: {
      edgeId: input.edgeId,
      state: 'awaiting_activation',
      kind: input.kind,
      phase: input.phase,
      activationDeadline: activationDeadline(new Date(input.writtenAt), input.activationWindowDays).toISOString(),
      activatedAt: null,
      waitingFor: 'activation',
      earned: { cashCents: 0, credits: 0, pendingCents: 0, payableCents: 0 },
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

export async function referralLifecycle(input: EdgeLifecycleInput, carried?: EdgeCarriedState): Promise<EdgeLifecycleView> {
  const s = carried ?? freshState(input);
  const view = s.view;
  const seen = new Set(s.seen);
  const historyLimit = input.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  const now = () => new Date(Date.now());

  const showState = () => {
    const state: LifecycleState = view.hold ? 'held' : s.stage;
    if (state !== view.state) {
      view.state = state;
      wf.upsertSearchAttributes([{ key: LifecycleStateKey, value: state }]);
    }
  };
  const enter = (stage: LifecycleState, waitingFor: WaitingFor | null) => {
    s.stage = stage;
    view.waitingFor = view.hold ? 'clearance' : waitingFor;
    showState();
  };
  /** Runs `handle` for an event the first time its id is seen. */
  const once = <E extends { eventId: string }>(handle: (event: E) => void) => (event: E) => {
    if (seen.has(event.eventId)) return;
    seen.add(event.eventId);
    handle(event);
  };

  wf.setHandler(stateQuery, () => view);
  wf.setHandler(activatedSignal, (event) => {
    view.activatedAt ??= event.activatedAt; // the first activation counts; repeats change nothing
  });
  wf.setHandler(paymentSignal, once((event) => void s.payments.push(event)));
  wf.setHandler(refundSignal, once((event) => void s.refunds.push(event)));
  wf.setHandler(phaseChangedSignal, once((event) => {
    view.phase = event.phase;
    wf.upsertSearchAttributes([{ key: ProgramPhaseKey, value: event.phase }]);
  }));
  let holdChanged = false;
  wf.setHandler(verdictSignal, once((event) => {
    holdChanged = true;
    if (event.verdict === 'void') s.voidReason ??= event.reason;
    else if (event.verdict === 'hold') view.hold ??= { reason: event.reason, since: now().toISOString() };
    else view.hold = null;
    view.waitingFor = view.hold ? 'clearance' : waitingForStage(s.stage);
    showState();
  }));

  // ---- Waiting for activation -------------------------------------------------------------------
  if (s.stage === 'awaiting_activation') {
    const deadline = new Date(view.activationDeadline);
    const activated = await wf.condition(() => view.activatedAt !== null || s.voidReason !== null, Math.max(0, deadline.getTime() - Date.now()));
    if (s.voidReason !== null) return voidEdge();
    if (!activated) {
      await edgeProgress.recordEdgeExpired({ edgeId: input.edgeId, expiredAt: deadline.toISOString() });
      if (s.payments.length > 0) await money.markPaymentsNotEligible({ paymentIds: s.payments.map((p) => p.paymentId), reason: 'edge_expired' });
      s.payments = [];
      enter('expired', null);
      return view;
    }
    await edgeProgress.recordEdgeVested({ edgeId: input.edgeId, vestedAt: view.activatedAt! });
    if (!wf.patched(PAYMENTS_PATCH)) {
      // Before payments existed the lifecycle ended at vesting; histories recorded then replay here.
      enter('vested', null);
      return view;
    }
    enter('awaiting_first_payment', 'first_payment');
  }

  // ---- Vested: payments, refunds, releases, until the commission window closes -------------------
  // Waiting is a race between new work and an alarm for the next due moment. Neither is ever
  // cancelled: an alarm made obsolete by an event just fires later and finds nothing due. (Fewer
  // events per payment than a condition with a timeout, and no CancelTimer racing a firing timer,
  // which the time-skipping test server mishandles: temporalio/sdk-java#3088.)
  let work: Promise<void> | null = null;
  let alarm: { at: number; rings: Promise<void> } | null = null;
  const workArrives = () => (work ??= wf.condition(() => holdChanged || hasWork()).then(() => void (work = null)));
  const alarmAt = (at: number) => {
    if (alarm === null || at < alarm.at) {
      const set: { at: number; rings: Promise<void> } = { at, rings: Promise.resolve() };
      set.rings = wf.sleep(Math.max(1, at - Date.now())).then(() => {
        if (alarm === set) alarm = null;
      });
      alarm = set;
    }
    return alarm.rings;
  };
  for (;;) {
    const wakeAt = nextTimer();
    if (wakeAt === null || wakeAt > Date.now()) await Promise.race(wakeAt === null ? [workArrives()] : [workArrives(), alarmAt(wakeAt)]);
    holdChanged = false;
    if (s.voidReason !== null) return voidEdge();
    if (!view.hold) {
      await priceWaitingPayments();
      await applyRefunds();
      for (const p of Object.values(s.priced)) {
        if (p.releaseAt !== null && new Date(p.releaseAt) <= now()) await release(p);
      }
    }
    if (s.stage === 'earning' && view.commissionWindowEndsAt && new Date(view.commissionWindowEndsAt) <= now()) enter('completed', 'refund_window');
    if (s.stage === 'completed' && !view.hold && closesAt() !== null && closesAt()! <= now().getTime() && !hasWork()) {
      await edgeProgress.recordEdgeCompleted({ edgeId: input.edgeId, completedAt: now().toISOString() });
      view.waitingFor = null;
      return view;
    }
    if (wf.workflowInfo().historyLength >= historyLimit || wf.workflowInfo().continueAsNewSuggested) {
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof referralLifecycle>(input, { ...s, seen: [...seen] });
    }
  }

  function waitingForStage(stage: LifecycleState): WaitingFor | null {
    if (stage === 'awaiting_activation') return 'activation';
    if (stage === 'awaiting_first_payment') return 'first_payment';
    if (stage === 'earning') return 'payments';
    if (stage === 'completed') return 'refund_window';
    return null;
  }

  function hasWork(): boolean {
    if (s.voidReason !== null) return true;
    if (view.hold) return false;
    return s.payments.length > 0 || s.refunds.some((r) => s.priced[r.paymentId] !== undefined);
  }

  /** The workflow closes once the refund window after its last earning payment has passed and every commission was released. */
  function closesAt(): number | null {
    if (s.lastEarningAt === null) return null;
    const releases = Object.values(s.priced).flatMap((p) => (p.releaseAt === null ? [] : [new Date(p.releaseAt).getTime()]));
    return Math.max(new Date(s.lastEarningAt).getTime() + REFUND_WINDOW_DAYS * DAY_MS, ...releases);
  }

  /** The next moment something is due without an event: a release, the window's end, closing. A hold stops the clock. */
  function nextTimer(): number | null {
    if (view.hold) return null;
    const due: number[] = [];
    for (const p of Object.values(s.priced)) if (p.releaseAt !== null) due.push(new Date(p.releaseAt).getTime());
    if (s.stage === 'earning' && view.commissionWindowEndsAt) due.push(new Date(view.commissionWindowEndsAt).getTime());
    if (s.stage === 'completed' && closesAt() !== null) due.push(closesAt()!);
    return due.length === 0 ? null : Math.min(...due);
  }

  /** Prices every payment waiting, in arrival order, in one activity. */
  async function priceWaitingPayments(): Promise<void> {
    const batch = s.payments.splice(0);
    if (batch.length === 0) return;
    const results = await money.pricePayments({
      edgeId: input.edgeId,
      firstPaymentAt: view.firstPaymentAt,
      payments: batch.map((p) => ({ paymentId: p.paymentId, amountCents: p.amountCents, paidAt: p.paidAt })),
    });
    batch.forEach((payment, i) => record(payment, results[i]!));
  }

  function record(payment: PaymentEvent, priced: PricedCommission): void {
    if (priced.status === 'not_eligible') {
      s.priced[payment.paymentId] = { paymentId: payment.paymentId, amountCents: payment.amountCents, refundedCents: 0, terms: null, beneficiary: null, releaseAt: null, released: false };
      view.payments.notEligible += 1;
      return;
    }
    s.priced[payment.paymentId] = {
      paymentId: payment.paymentId,
      amountCents: payment.amountCents,
      refundedCents: 0,
      terms: priced.terms,
      beneficiary: priced.beneficiary,
      releaseAt: new Date(Date.now() + priced.holdDays * DAY_MS).toISOString(),
      released: false,
    };
    view.payments.earning += 1;
    view.earned.cashCents += priced.earned.cash;
    view.earned.credits += priced.earned.credits;
    view.earned.pendingCents += priced.earned.cash;
    s.lastEarningAt = now().toISOString();
    if (view.firstPaymentAt === null) {
      view.firstPaymentAt = payment.paidAt;
      const end = commissionWindowEnd(priced.terms, new Date(payment.paidAt));
      view.commissionWindowEndsAt = end?.toISOString() ?? null;
      if (end === null || end <= now()) enter('completed', 'refund_window');
      else enter('earning', 'payments');
    }
  }

  /** Refunds whose payment this edge has priced, in arrival order; others wait for their payment. */
  async function applyRefunds(): Promise<void> {
    const waiting: RefundEvent[] = [];
    for (const refund of s.refunds) {
      const p = s.priced[refund.paymentId];
      if (!p) {
        waiting.push(refund);
        continue;
      }
      // The API never accepts more refund than payment; a message that would is ignored, not fatal.
      if (p.refundedCents + refund.amountCents > p.amountCents) continue;
      if (p.terms && p.beneficiary) {
        const back = clawbackFor(p.amountCents, p.refundedCents, refund.amountCents, p.terms);
        await money.clawBackCommission({ key: `clawback:${refund.refundId}`, kind: 'clawback', paymentId: p.paymentId, edgeId: input.edgeId, to: p.beneficiary, amounts: back, released: p.released });
        view.earned.cashCents -= back.cash;
        view.earned.credits -= back.credits;
        if (p.released) view.earned.payableCents -= back.cash;
        else view.earned.pendingCents -= back.cash;
      }
      p.refundedCents += refund.amountCents;
    }
    s.refunds = waiting;
  }

  async function release(p: PricedPayment): Promise<void> {
    const cash = keptOn(p.amountCents, p.refundedCents, p.terms!).cash;
    await money.releaseCommission({ paymentId: p.paymentId, edgeId: input.edgeId, to: p.beneficiary!, cash });
    p.releaseAt = null;
    p.released = true;
    view.earned.pendingCents -= cash;
    view.earned.payableCents += cash;
  }

  /** Void under the terms: everything still kept is taken back, and the edge earns nothing more. */
  async function voidEdge(): Promise<EdgeLifecycleView> {
    for (const p of Object.values(s.priced)) {
      if (!p.terms || !p.beneficiary) continue;
      const kept = keptOn(p.amountCents, p.refundedCents, p.terms);
      await money.clawBackCommission({ key: `void:${p.paymentId}`, kind: 'void', paymentId: p.paymentId, edgeId: input.edgeId, to: p.beneficiary, amounts: kept, released: p.released });
      view.earned.cashCents -= kept.cash;
      view.earned.credits -= kept.credits;
      if (p.released) view.earned.payableCents -= kept.cash;
      else view.earned.pendingCents -= kept.cash;
      p.releaseAt = null;
    }
    if (s.payments.length > 0) await money.markPaymentsNotEligible({ paymentIds: s.payments.map((p) => p.paymentId), reason: 'edge_voided' });
    s.payments = [];
    await edgeProgress.recordEdgeVoided({ edgeId: input.edgeId, voidedAt: now().toISOString() });
    view.hold = null;
    enter('voided', null);
    return view;
  }
}
