// The PostgreSQL pool: slonik over pg, with rows validated against the query's zod schema and
// PostgreSQL types mapped to what the rest of the code expects (int8 -> safe number, timestamptz -> Date).
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
      { name: 'timestamptz', parse: (value: string) => new Date(value) },
      { name: 'timestamp', parse: (value: string) => new Date(`${value}Z`) },
      { name: 'date', parse: (value: string) => value },
    ],
  });
  // Slonik also emits every failed query as an 'error' event; the query's caller already gets the
  // error, so this listener only keeps EventEmitter from turning the event into a crash.
  pool.on('error', () => {});
  return pool;
}
