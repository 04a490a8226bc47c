// The PostgreSQL pool: slonik over pg, with rows validated against the query's zod schema and
// PostgreSQL types mapped to what the rest of the code expects (int8 -> safe number, timestamptz -> Date).
// Timestamps are parsed from PostgreSQL's own text form here, not by `new Date(text)`: the engine's
// parser reads a year below 100 as 19xx or 20xx and gives up on BC years and offsets with seconds,
// which turned one wave opening in year 0025 into a 500 on every waitlist page.
import {
  createPool,
  SchemaValidationError,
  type DatabasePool,
  type DatabaseTransactionConnection,
  type Interceptor,
  type QueryResultRow,
} from 'slonik';

export type { DatabasePool } from 'slonik';
/** What a query runs on: the pool, or the connection of a transaction in progress. */
export type Db = DatabasePool | DatabaseTransactionConnection;

const validateRows: Interceptor = {
  name: 'validate-rows',
  transformRowAsync: async (context, query, row) => {
    const parser = context.resultParser;
    if (!parser) return row;
    const result = await parser['~standard'].validate(row);
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as QueryResultRow;
  },
};

function safeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} is outside the safe integer range`);
  return n;
}

// PostgreSQL's ISO output: `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]`, the year 4 digits or more.
const PG_TIMESTAMP =
  /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?( BC)?$/;
/** The furthest instants a Date holds (+-100,000,000 days from 1970), for PostgreSQL's `infinity`. */
const DATE_LIMIT_MS = 8.64e15;

/**
 * A `timestamptz` (or, with no offset, a UTC `timestamp`) in PostgreSQL's text form as the instant
 * it names: every year from 4713 BC on, exactly to the millisecond (microseconds are cut). A value a
 * Date cannot hold comes back as an invalid Date, which the row schemas refuse by name.
 */
export function parsePgTimestamp(text: string): Date {
  if (text === 'infinity') return new Date(DATE_LIMIT_MS);
  if (text === '-infinity') return new Date(-DATE_LIMIT_MS);
  const m = PG_TIMESTAMP.exec(text);
  if (!m) return new Date(Number.NaN);
  const [, year, month, day, hour, minute, second, fraction, sign, offH, offM, offS, bc] = m;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999. 1 BC is year 0, 2 BC is -1.
  date.setUTCFullYear(bc ? 1 - Number(year) : Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), Number((fraction ?? '').padEnd(3, '0').slice(0, 3)));
  const offsetSeconds = sign
    ? (sign === '-' ? -1 : 1) * (Number(offH) * 3600 + Number(offM ?? 0) * 60 + Number(offS ?? 0))
    : 0;
  return new Date(date.getTime() - offsetSeconds * 1000);
}

export async function createDatabasePool(connectionUri: string, maximumPoolSize = 16): Promise<DatabasePool> {
  const pool = await createPool(connectionUri, {
    maximumPoolSize,
    interceptors: [validateRows],
    captureStackTrace: false,
    // Slonik's default runs DISCARD ALL on every release, a second round trip per query. This
    // code keeps no session state on pooled connections (LISTEN has its own client), so skip it.
    resetConnection: async () => {},
    typeParsers: [
      { name: 'int8', parse: safeInteger },
      { name: 'timestamptz', parse: parsePgTimestamp },
      { name: 'timestamp', parse: parsePgTimestamp },
      { name: 'date', parse: (value: string) => value },
    ],
  });
  // Slonik also emits every failed query as an 'error' event; the query's caller already gets the
  // error, so this listener only keeps EventEmitter from turning the event into a crash.
  pool.on('error', () => {});
  return pool;
}
