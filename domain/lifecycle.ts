// The states one edge moves through, as ops see them in the Temporal UI (LifecycleState).
import { DAY_MS } from './time.ts';
import type { EdgeKind, EdgeSource, ProgramPhase } from './edge.ts';
import type { ForfeitReason } from './edge-earnings.ts';

export const LIFECYCLE_STATES = [
  'awaiting_activation',
  'expired',
  'vested',
  'awaiting_first_payment',
  'earning',
  'completed',
  'held',
  'voided',
] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export const DEFAULT_ACTIVATION_WINDOW_DAYS = 30;

export function activationDeadline(writtenAt: Date, windowDays: number): Date {
  return new Date(writtenAt.getTime() + windowDays * DAY_MS);
}

/** What an edge's workflow is started with; everything it needs to run without reading the graph. */
export type EdgeLifecycleInput = {
  edgeId: string;
  referrerId: string;
  refereeId: string;
  /** The referrer's partner tenant when the edge is an affiliate edge, else null. */
  partnerId: string | null;
  kind: EdgeKind;
  source: EdgeSource;
  phase: ProgramPhase;
  /** ISO time the edge was written; the activation window runs from here. */
  writtenAt: string;
  activationWindowDays: number;
  /** Continue as new once a run's history reaches this many events (default in the workflow). */
  historyLimit?: number;
};

/** How long a completed edge's workflow stays open for refunds of the payments it earned on. */
export const REFUND_WINDOW_DAYS = 180;

export type WaitingFor = 'activation' | 'first_payment' | 'payments' | 'clearance' | 'refund_window';

/** What the workflow's `state` query answers. */
export type EdgeLifecycleView = {
  edgeId: string;
  state: LifecycleState;
  kind: EdgeKind;
  phase: ProgramPhase;
  activationDeadline: string;
  activatedAt: string | null;
  /** The next event the edge is waiting for, or null once it has nothing left to wait for. */
  waitingFor: WaitingFor | null;
  /** Money this edge has earned its referrer so far, net of clawbacks (cents and credits). */
  earned: { cashCents: number; credits: number; pendingCents: number; payableCents: number };
  /** Payments seen: how many earned commission and how many earned nothing. */
  payments: { earning: number; notEligible: number };
  firstPaymentAt: string | null;
  /** End of the recurring commission window, once the first payment opened it. */
  commissionWindowEndsAt: string | null;
  hold: { reason: string; since: string } | null;
  /**
   * Beta-seeded commissions forfeited at their retention gate, and why (the referee cancelled,
   * refunded or charged back by then). Absent until one is.
   */
  forfeited?: { paymentId: string; reason: ForfeitReason; gateAt: string }[];
};

// Events the edge's workflow receives, each with an id that makes a repeat a no-op.
export type ActivationEvent = { eventId: string; activatedAt: string };
export type PaymentEvent = { eventId: string; paymentId: string; amountCents: number; currency: 'USD'; paidAt: string };
export type RefundEvent = {
  eventId: string;
  refundId: string;
  paymentId: string;
  amountCents: number;
  refundedAt: string;
};
export type Verdict = 'hold' | 'clear' | 'void';
export type VerdictEvent = { eventId: string; verdict: Verdict; reason: string };
export type PhaseChangedEvent = { eventId: string; phase: ProgramPhase; changedAt: string };

/** One activation per referee: the user's id makes a repeat the same event. */
export const activationEventId = (refereeId: string) => `activation:${refereeId}`;
export const paymentEventId = (paymentId: string) => `payment:${paymentId}`;
export const refundEventId = (refundId: string) => `refund:${refundId}`;
export const verdictEventId = (verdictId: string) => `verdict:${verdictId}`;
export const phaseEventId = (phase: ProgramPhase) => `phase:${phase}`;
