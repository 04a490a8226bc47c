// Money is integers: minor units (USD cents) and credits; rates are basis points.

export const BPS_DENOMINATOR = 10_000;

export function assertMinorUnits(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative integer amount of minor units, got ${value}`);
}

export function assertBps(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > BPS_DENOMINATOR)
    throw new RangeError(`${what} must be whole basis points between 0 and ${BPS_DENOMINATOR}, got ${value}`);
}

/** floor(amount x bps / 10000), exact for any safe amount (BigInt avoids float rounding). */
export function applyBps(amount: number, bps: number): number {
  assertMinorUnits(amount, 'amount');
  assertBps(bps, 'rate');
  return Number((BigInt(amount) * BigInt(bps)) / BigInt(BPS_DENOMINATOR));
}
