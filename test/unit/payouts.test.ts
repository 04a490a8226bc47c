// Payout rules that decide without I/O: the periods a cycle pays for, and what a Stripe refusal
// of a transfer means (fail the payout, fail the cycle, or retry).
import { describe, expect, it } from '@jest/globals';
import { classifyTransferFailure, periodOf, periodsOf } from '../../domain/payouts.ts';

describe('periodsOf', () => {
  it("names each frequency's period at the moment, and only the frequencies asked for", () => {
    const at = new Date('2027-03-31T23:00:00Z');
    expect(periodsOf(['monthly', 'quarterly'], at)).toEqual({ monthly: '2027-03', quarterly: '2027-Q1' });
    expect(periodsOf(['weekly'], at)).toEqual({ weekly: periodOf('weekly', at) });
    expect(periodsOf([], at)).toEqual({});
  });
});

describe('classifyTransferFailure', () => {
  it('a refusal that names this payout fails the payout with its code', () => {
    expect(
      classifyTransferFailure({ statusCode: 400, code: 'balance_insufficient', rawType: 'invalid_request_error' }),
    ).toEqual({ refused: 'balance_insufficient' });
    expect(classifyTransferFailure({ statusCode: 400, code: 'transfers_not_allowed' })).toEqual({
      refused: 'transfers_not_allowed',
    });
  });

  it('any other invalid request fails the payout too: sent again it stays invalid', () => {
    expect(
      classifyTransferFailure({ statusCode: 400, code: 'parameter_invalid_integer', rawType: 'invalid_request_error' }),
    ).toEqual({ refused: 'parameter_invalid_integer' });
    expect(classifyTransferFailure({ statusCode: 400, rawType: 'invalid_request_error' })).toEqual({
      refused: 'invalid_request_error',
    });
    expect(classifyTransferFailure({ statusCode: 404, code: 'resource_missing' })).toEqual({
      refused: 'resource_missing',
    });
  });

  it('a refused key or permission fails the cycle: no payout can go', () => {
    expect(classifyTransferFailure({ statusCode: 401, rawType: 'invalid_request_error' })).toEqual({
      credentials: true,
    });
    expect(classifyTransferFailure({ statusCode: 403 })).toEqual({ credentials: true });
  });

  it("rate limits, Stripe's own errors and the network are retried", () => {
    expect(classifyTransferFailure({ statusCode: 429, code: 'rate_limit' })).toEqual({ transient: true });
    expect(classifyTransferFailure({ statusCode: 400, code: 'rate_limit' })).toEqual({ transient: true });
    expect(classifyTransferFailure({ statusCode: 409, code: 'idempotency_key_in_use' })).toEqual({ transient: true });
    expect(classifyTransferFailure({ statusCode: 500, rawType: 'api_error' })).toEqual({ transient: true });
    expect(classifyTransferFailure({ message: 'socket hang up' })).toEqual({ transient: true });
  });
});
