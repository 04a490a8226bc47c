// The states one edge moves through, as ops see them in the Temporal UI (LifecycleState).
import type { EdgeKind, EdgeSource, ProgramPhase } from './edge.ts';

export const LIFECYCLE_STATES = [
  'awaiting_activation',
  'expired',
  'vested',
  'awaiting_first_payment',
  'earning',
  'completed',
] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export const DEFAULT_ACTIVATION_WINDOW_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

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
};

/** What the workflow's `state` query answers. */
export type EdgeLifecycleView = {
  edgeId: string;
  state: LifecycleState;
  kind: EdgeKind;
  phase: ProgramPhase;
  activationDeadline: string;
  activatedAt: string | null;
  /** The next event the edge is waiting for, or null once it has nothing left to wait for. */
  waitingFor: 'activation' | 'first_payment' | null;
};
