// One edge's state inside its workflow: the stage beneath a hold, what ops see (the `state` query's
// view and the LifecycleState and ProgramPhase search attributes), the events already handled,
// and the money the rules in domain/edge-earnings.ts work on. Carried whole across continue-as-new.
import * as wf from '@temporalio/workflow';
import {
  closesAt,
  NO_EARNINGS,
  pendingReleases,
  type EdgeEarnings,
  type PricedPayment,
} from '../domain/edge-earnings.ts';
import type { ProgramPhase } from '../domain/edge.ts';
import {
  activationDeadline,
  type EdgeLifecycleInput,
  type EdgeLifecycleView,
  type LifecycleState,
  type PaymentEvent,
  type RefundEvent,
  type VerdictEvent,
  type WaitingFor,
} from '../domain/lifecycle.ts';
import {
  LifecycleState as LifecycleStateKey,
  ProgramPhase as ProgramPhaseKey,
} from '../contracts/search-attributes.ts';
import type { Due } from './work-or-alarm.ts';

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
  /** Payments the fraud rules have screened that still wait to be priced (absent in runs that never screened). */
  screened?: string[];
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

export type EdgeState = ReturnType<typeof edgeState>;

export function edgeState(input: EdgeLifecycleInput, carried?: EdgeCarriedState) {
  const s = carried ?? freshState(input);
  const view = s.view;
  const seen = new Set(s.seen);

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
  const earnings = (): EdgeEarnings => ({ priced: s.priced, earned: view.earned });

  return {
    s,
    view,
    enter,
    earnings,
    /** Moves to a last stage and answers the view the workflow ends with. */
    finish(stage: LifecycleState): EdgeLifecycleView {
      enter(stage, null);
      return view;
    },
    /** Keeps what a rule of domain/edge-earnings.ts answered, once its postings are in the ledger. */
    keep(next: EdgeEarnings): void {
      s.priced = next.priced;
      view.earned = next.earned;
    },
    /** Runs `handle` for an event the first time its id is seen. */
    once<E extends { eventId: string }>(handle: (event: E) => void): (event: E) => void {
      return (event) => {
        if (seen.has(event.eventId)) return;
        seen.add(event.eventId);
        handle(event);
      };
    },
    phaseChanged(phase: ProgramPhase): void {
      view.phase = phase;
      wf.upsertSearchAttributes([{ key: ProgramPhaseKey, value: phase }]);
    },
    /** A void is acted on by the workflow; a hold stops its clock and its money until cleared. */
    verdict(event: VerdictEvent): void {
      if (event.verdict === 'void') s.voidReason ??= event.reason;
      else if (event.verdict === 'hold')
        view.hold ??= { reason: event.reason, since: new Date(Date.now()).toISOString() };
      else view.hold = null;
      view.waitingFor = view.hold ? 'clearance' : (STAGE_WAITS_FOR[s.stage] ?? null);
      showState();
    },
    /** Something to do now: a void, or (unless held) payments to price or refunds of priced payments. */
    hasWork(): boolean {
      if (s.voidReason !== null) return true;
      if (view.hold) return false;
      return s.payments.length > 0 || s.refunds.some((r) => s.priced[r.paymentId] !== undefined);
    },
    /** When the refund window after the last earning payment has passed and every commission was released. */
    closesAt: () => closesAt(earnings(), s.lastEarningAt),
    /** The next moment something falls due without an event. A hold stops the clock. */
    nextDue(): Due | null {
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
    },
    /** The first waiting payment the fraud rules have not screened yet, if any. */
    unscreenedPayment(): PaymentEvent | undefined {
      const screened = new Set(s.screened ?? []);
      return s.payments.find((p) => !screened.has(p.paymentId));
    },
    /** A payment screened; only payments still waiting are remembered (a priced one is never screened again). */
    screenedPayment(paymentId: string): void {
      const waiting = new Set(s.payments.map((p) => p.paymentId));
      s.screened = [...(s.screened ?? []), paymentId].filter((id) => waiting.has(id));
    },
    carried: (): EdgeCarriedState => ({ ...s, seen: [...seen] }),
  };
}
