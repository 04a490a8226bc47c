// Where an edge stands when its workflow cannot answer, from the stamps and verdicts alone.
import { describe, expect, it } from '@jest/globals';
import { stateFromStamps, type EdgeStamps } from '../../domain/edge-state.ts';

const none: EdgeStamps = { vested_at: null, expired_at: null, completed_at: null, voided_at: null };
const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 10, minute));
const verdict = (v: 'hold' | 'clear' | 'void', minute: number, reason = `${v} at ${minute}`) => ({
  verdict: v,
  reason,
  created_at: at(minute),
});

describe('an edge state from PostgreSQL', () => {
  it('follows the stamps: activation awaited, vested, earning, and the ends', () => {
    expect(stateFromStamps(none, [], 0)).toEqual({
      state: 'awaiting_activation',
      waitingFor: 'activation',
      hold: null,
    });
    const vested = { ...none, vested_at: at(1) };
    expect(stateFromStamps(vested, [], 0)).toMatchObject({
      state: 'awaiting_first_payment',
      waitingFor: 'first_payment',
    });
    expect(stateFromStamps(vested, [], 2)).toMatchObject({ state: 'earning', waitingFor: 'payments' });
    expect(stateFromStamps({ ...vested, completed_at: at(9) }, [], 2)).toMatchObject({
      state: 'completed',
      waitingFor: null,
    });
    expect(stateFromStamps({ ...none, expired_at: at(9) }, [], 0)).toMatchObject({
      state: 'expired',
      waitingFor: null,
    });
  });

  it('a void ends it whatever else it shows; a hold wins over the stage until cleared', () => {
    expect(stateFromStamps({ ...none, vested_at: at(1), voided_at: at(5) }, [verdict('hold', 2)], 1)).toEqual({
      state: 'voided',
      waitingFor: null,
      hold: null,
    });
    expect(stateFromStamps({ ...none, vested_at: at(1) }, [verdict('hold', 2)], 1)).toEqual({
      state: 'held',
      waitingFor: 'clearance',
      hold: { reason: 'hold at 2', since: at(2).toISOString() },
    });
    // Newest first, as the database answers: hold, clear, hold again.
    const verdicts = [verdict('hold', 8), verdict('clear', 6), verdict('hold', 4)];
    expect(stateFromStamps(none, verdicts, 0).hold).toEqual({ reason: 'hold at 8', since: at(8).toISOString() });
    expect(stateFromStamps(none, verdicts.slice(1), 0)).toMatchObject({ state: 'awaiting_activation', hold: null });
  });

  it('a second hold keeps the first one reason and time, as the workflow does', () => {
    expect(stateFromStamps(none, [verdict('hold', 7), verdict('hold', 3)], 0).hold).toEqual({
      reason: 'hold at 3',
      since: at(3).toISOString(),
    });
  });
});
