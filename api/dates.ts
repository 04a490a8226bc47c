// The one schema for a date a client sends (a payment's paidAt, a refund's refundedAt, a wave's
// opensAt, an invite code's expiry): ISO 8601 with a time zone, within a range a real event can
// have. A year like 0025 is a typo, not an event: refused with a 400 before anything is written.
import { z } from 'zod';

/** Dates clients may send: from 2000-01-01 (inclusive) to 2100-01-01 (exclusive), UTC. */
export const DATE_INPUT_RANGE = {
  from: new Date('2000-01-01T00:00:00Z'),
  until: new Date('2100-01-01T00:00:00Z'),
} as const;

const RANGE_TEXT = `between ${DATE_INPUT_RANGE.from.toISOString().slice(0, 10)} and ${DATE_INPUT_RANGE.until
  .toISOString()
  .slice(0, 10)}`;

/** How far ahead of our clock a "past" date may be: the sender's clock may run a little fast. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** An instant with a time zone (`2026-03-01T09:00:00Z`, `...+01:00`), within DATE_INPUT_RANGE, as a Date. */
export const dateInput = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine(
    (d) => d.getTime() >= DATE_INPUT_RANGE.from.getTime() && d.getTime() < DATE_INPUT_RANGE.until.getTime(),
    `must be ${RANGE_TEXT}`,
  )
  .describe(`ISO 8601 with a time zone, ${RANGE_TEXT}.`);

/** A date input that has already happened (a few minutes of clock skew allowed). */
export const pastDateInput = dateInput
  .refine((d) => d.getTime() <= Date.now() + CLOCK_SKEW_MS, 'must not be in the future')
  .describe(`ISO 8601 with a time zone, ${RANGE_TEXT}, not in the future.`);

/** A date input still to come. */
export const futureDateInput = dateInput
  .refine((d) => d.getTime() > Date.now(), 'must be in the future')
  .describe(`ISO 8601 with a time zone, ${RANGE_TEXT}, in the future.`);
