// Where an edge stands as PostgreSQL can tell it, for when its workflow cannot answer (not started
// yet, or Temporal unreachable): the stamps its workflow records, and the verdicts.
import type { LifecycleState, Verdict, WaitingFor } from './lifecycle.ts';

export type EdgeStamps = {
  vested_at: Date | null;
  expired_at: Date | null;
  completed_at: Date | null;
  voided_at: Date | null;
};
export type StampedState = {
  state: LifecycleState;
  waitingFor: WaitingFor | null;
  hold: { reason: string; since: string } | null;
};

/**
 * The state the workflow records into PostgreSQL, as far as PostgreSQL can tell it: the stamps of
 * the outcomes, the hold the verdicts leave (a later hold keeps the first one's reason and time, as
 * the workflow does), and a vested edge earning once a payment earned. What it cannot tell: an
 * earning edge whose commission window has closed (the workflow's 'completed' before it stamps it).
 */
export function stateFromStamps(
  edge: EdgeStamps,
  newestFirst: readonly { verdict: Verdict; reason: string; created_at: Date }[],
  earningPayments: number,
): StampedState {
  if (edge.voided_at) return { state: 'voided', waitingFor: null, hold: null };
  if (edge.expired_at) return { state: 'expired', waitingFor: null, hold: null };
  if (edge.completed_at) return { state: 'completed', waitingFor: null, hold: null };
  let hold: StampedState['hold'] = null;
  for (const v of [...newestFirst].reverse()) {
    if (v.verdict === 'hold') hold ??= { reason: v.reason, since: v.created_at.toISOString() };
    else if (v.verdict === 'clear') hold = null;
  }
  if (hold) return { state: 'held', waitingFor: 'clearance', hold };
  if (!edge.vested_at) return { state: 'awaiting_activation', waitingFor: 'activation', hold: null };
  return earningPayments > 0
    ? { state: 'earning', waitingFor: 'payments', hold: null }
    : { state: 'awaiting_first_payment', waitingFor: 'first_payment', hold: null };
}
