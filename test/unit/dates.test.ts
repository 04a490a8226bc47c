// Dates both ways: PostgreSQL's text form of a timestamp read back as the instant it names, for
// every year (the engine's own Date parser reads 0025 as 2025 and gives up on LMT offsets and BC),
// and the one schema every route takes a date through, which refuses years no event has.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parsePgTimestamp } from '../../db/pool.ts';
import { dateInput, DATE_INPUT_RANGE, futureDateInput, pastDateInput } from '../../api/dates.ts';

const iso = (text: string) => parsePgTimestamp(text).toISOString();

/** What PostgreSQL prints for an instant in a zone `offsetSeconds` east of UTC (DateStyle ISO). */
function pgText(instant: Date, offsetSeconds: number): string {
  const local = new Date(instant.getTime() + offsetSeconds * 1000);
  const year = local.getUTCFullYear();
  const bc = year <= 0;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const abs = Math.abs(offsetSeconds);
  const offset =
    (offsetSeconds < 0 ? '-' : '+') +
    pad(Math.floor(abs / 3600)) +
    (abs % 3600 ? `:${pad(Math.floor((abs % 3600) / 60))}` : '') +
    (abs % 60 ? `:${pad(abs % 60)}` : '');
  const ms = local.getUTCMilliseconds();
  return (
    `${pad(bc ? 1 - year : year, 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    (ms ? `.${pad(ms, 3)}` : '') +
    offset +
    (bc ? ' BC' : '')
  );
}

describe('reading timestamps from PostgreSQL', () => {
  it.each([
    ['0001-01-01 00:00:00+00', '0001-01-01T00:00:00.000Z'],
    ['0025-12-05 09:00:00+00', '0025-12-05T09:00:00.000Z'],
    ['0099-12-31 23:59:59.999+00', '0099-12-31T23:59:59.999Z'],
    ['2026-03-01 10:00:00.123456+00', '2026-03-01T10:00:00.123Z'],
    ['2026-03-01 15:30:00+05:30', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01 05:00:00-05', '2026-03-01T10:00:00.000Z'],
    // Paris before 1891 was at local mean time: PostgreSQL prints the offset to the second.
    ['0025-12-05 09:09:21+00:09:21', '0025-12-05T09:00:00.000Z'],
    ['1850-01-01 00:00:00-04:56:02', '1850-01-01T04:56:02.000Z'],
    ['0001-01-01 00:00:00+00 BC', '0000-01-01T00:00:00.000Z'],
    ['0044-03-15 12:00:00+00 BC', '-000043-03-15T12:00:00.000Z'],
    ['12345-06-07 08:09:10+00', '+012345-06-07T08:09:10.000Z'],
  ])('%s is %s', (text, expected) => {
    expect(iso(text)).toBe(expected);
  });

  it('reads a timestamp without time zone as UTC', () => {
    expect(iso('0025-12-05 09:00:00')).toBe('0025-12-05T09:00:00.000Z');
  });

  it('reads infinity as the furthest instant a Date holds, and anything unreadable as an invalid Date', () => {
    expect(parsePgTimestamp('infinity').getTime()).toBe(8.64e15);
    expect(parsePgTimestamp('-infinity').getTime()).toBe(-8.64e15);
    expect(Number.isNaN(parsePgTimestamp('not a date').getTime())).toBe(true);
    expect(Number.isNaN(parsePgTimestamp('294276-12-31 23:59:59+00').getTime())).toBe(true);
  });

  it('reads back every instant from 4713 BC to 9999, at any offset, to the millisecond', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('-004712-01-01T00:00:00Z'),
          max: new Date('9999-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: -15 * 3600, max: 15 * 3600 }),
        (instant, offsetSeconds) => {
          expect(parsePgTimestamp(pgText(instant, offsetSeconds)).getTime()).toBe(instant.getTime());
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('dates clients send', () => {
  const accepts = (schema: typeof dateInput, value: string) => schema.safeParse(value).success;

  it('takes ISO 8601 with a time zone from 2000-01-01 up to (not including) 2100-01-01, as a Date', () => {
    expect(dateInput.parse('2000-01-01T00:00:00Z')).toEqual(DATE_INPUT_RANGE.from);
    expect(dateInput.parse('2026-03-01T10:00:00+01:00').toISOString()).toBe('2026-03-01T09:00:00.000Z');
    expect(accepts(dateInput, '2099-12-31T23:59:59.999Z')).toBe(true);
  });

  it.each([
    '0025-12-05T09:00:00Z',
    '0001-01-01T00:00:00Z',
    '0099-12-31T23:59:59Z',
    '1999-12-31T23:59:59.999Z',
    '2100-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '2026-03-01T10:00:00', // no time zone
    '2026-02-30T10:00:00Z',
    'tomorrow',
  ])('refuses %s', (value) => {
    const result = dateInput.safeParse(value);
    expect(result.success).toBe(false);
  });

  it('names the range in the message', () => {
    const result = dateInput.safeParse('0025-12-05T09:00:00Z');
    expect(result.error?.issues[0]?.message).toBe('must be between 2000-01-01 and 2100-01-01');
  });

  it('past and future dates keep the range', () => {
    expect(accepts(pastDateInput, '2001-05-05T00:00:00Z')).toBe(true);
    expect(accepts(pastDateInput, '0025-12-05T09:00:00Z')).toBe(false);
    expect(accepts(pastDateInput, new Date(Date.now() + 86_400_000).toISOString())).toBe(false);
    expect(accepts(futureDateInput, new Date(Date.now() + 86_400_000).toISOString())).toBe(true);
    expect(accepts(futureDateInput, '2150-01-01T00:00:00Z')).toBe(false);
    expect(accepts(futureDateInput, '2001-05-05T00:00:00Z')).toBe(false);
  });
});
