// Every failure leaves the API as { error: { type, code, message, param? } } with the right status.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  IdleTransactionTimeoutError,
  StatementTimeoutError,
} from 'slonik';
import { z } from 'zod';
import { ServiceError, type ServiceErrorKind } from '../services/errors.ts';

export const ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'conflict_error',
  'idempotency_error',
  'rate_limit_error',
  'api_error',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export const errorBody = z.object({
  error: z.object({
    type: z.enum(ERROR_TYPES),
    code: z.string(),
    message: z.string(),
    param: z.string().optional(),
  }),
});

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | undefined;
  constructor(status: number, type: ErrorType, code: string, message: string, param?: string) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }
  body() {
    return {
      error: { type: this.type, code: this.code, message: this.message, ...(this.param ? { param: this.param } : {}) },
    };
  }
}

const SERVICE_ERROR_STATUS: Record<ServiceErrorKind, [number, ErrorType]> = {
  invalid: [400, 'invalid_request_error'],
  not_found: [404, 'not_found_error'],
  conflict: [409, 'conflict_error'],
  forbidden: [403, 'permission_error'],
  gone: [410, 'invalid_request_error'],
};

/** Zod issues become one 400 naming the first offending parameter. */
export function fromZodError(error: z.ZodError, location: 'body' | 'query' | 'path', input: unknown): ApiError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return new ApiError(
      400,
      'invalid_request_error',
      'parameter_unknown',
      `Unknown parameter "${[...path, key].join('.')}" in the ${location}.`,
      [...path, key].join('.'),
    );
  }
  const param = path.join('.') || undefined;
  const parent = issue.path
    .slice(0, -1)
    .reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey], input);
  const missing =
    issue.code === 'invalid_type' &&
    path.length > 0 &&
    typeof parent === 'object' &&
    parent !== null &&
    !(path[path.length - 1]! in parent);
  return new ApiError(
    400,
    'invalid_request_error',
    missing ? 'parameter_missing' : 'parameter_invalid',
    missing
      ? `Missing required parameter "${param}" in the ${location}.`
      : `Invalid ${location} parameter${param ? ` "${param}"` : ''}: ${issue.message}.`,
    param,
  );
}

export const notFoundRoute: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'invalid_request_error', 'route_not_found', `No route ${req.method} ${req.path}.`));
};

const BODY_PARSER_ERRORS: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'invalid_json', 'The request body is not valid JSON.'],
  'entity.too.large': [413, 'body_too_large', 'The request body is larger than the limit.'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'The request body encoding is not supported.'],
  'charset.unsupported': [415, 'unsupported_charset', 'The request body charset is not supported; send UTF-8.'],
  'request.aborted': [400, 'body_incomplete', 'The request body ended before it was complete.'],
  'request.size.invalid': [400, 'body_length_mismatch', 'The request body does not match its Content-Length.'],
};

/**
 * Errors Express's body parser and router raise for a request they cannot read (http-errors with a
 * 4xx status and `expose`): a body that does not decompress, a path with a broken %-escape.
 */
function unreadableRequest(err: object): ApiError | null {
  const status = 'status' in err && typeof err.status === 'number' ? err.status : 0;
  if (!('expose' in err) || err.expose !== true || status < 400 || status > 499) return null;
  const code = 'code' in err && typeof err.code === 'string' ? err.code : '';
  if (/^(Z_|ERR_BROTLI|ERR__ERROR|ERR_ZSTD)/.test(code))
    return new ApiError(
      400,
      'invalid_request_error',
      'body_encoding_invalid',
      'The request body could not be decompressed; check Content-Encoding.',
    );
  if (err instanceof URIError) return badPath();
  return new ApiError(status, 'invalid_request_error', 'request_unreadable', 'The request could not be read.');
}

export const badPath = () =>
  new ApiError(400, 'invalid_request_error', 'path_invalid', 'The path is not valid: a broken %-escape or a NUL.');

/** Seconds a client is told to wait before retrying a request that met an outage. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

// Node socket errors, PostgreSQL's connection and shutdown states (class 08, 57P01-57P03), and
// gRPC's UNAVAILABLE (14) and DEADLINE_EXCEEDED (4) as Temporal's client raises them.
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);
const PG_UNAVAILABLE = /^(08...|57P0[123])$/;
const GRPC_UNAVAILABLE = new Set([4, 14]);
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is not open/i;

/**
 * Whether an error means PostgreSQL or Temporal could not be reached (or went away mid-request), a
 * failure of ours that a retry can mend: the caller gets a 503 with Retry-After, not a 500. Follows
 * `cause` chains (slonik and Temporal's client wrap the socket error).
 */
export function isUnavailable(err: unknown): boolean {
  for (
    let e: unknown = err, depth = 0;
    e && typeof e === 'object' && depth < 6;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    if (
      e instanceof ConnectionError ||
      e instanceof BackendTerminatedError ||
      e instanceof BackendTerminatedUnexpectedlyError ||
      e instanceof IdleTransactionTimeoutError ||
      e instanceof StatementTimeoutError
    )
      return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || PG_UNAVAILABLE.test(code))) return true;
    if (typeof code === 'number' && GRPC_UNAVAILABLE.has(code) && 'metadata' in e) return true;
    const name = (e as { name?: unknown }).name;
    if (
      name === 'ServiceError' &&
      /UNAVAILABLE|DEADLINE_EXCEEDED|Failed to (connect|start)/i.test(String((e as Error).message))
    )
      return true;
    if (e instanceof Error && PG_CONNECTION_MESSAGES.test(e.message)) return true;
  }
  return false;
}

export const serviceUnavailable = () =>
  Object.assign(
    new ApiError(
      503,
      'api_error',
      'service_unavailable',
      `A service this request needs is unreachable for now; nothing was lost. Retry in ${UNAVAILABLE_RETRY_AFTER_S} s with the same Idempotency-Key (or business id).`,
    ),
    { retryAfter: UNAVAILABLE_RETRY_AFTER_S },
  );

/** The API error a thrown error means; null for an unexpected one (a 500). */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof ServiceError) {
    const [status, type] = SERVICE_ERROR_STATUS[err.kind];
    return new ApiError(status, type, err.code, err.message, err.param);
  }
  if (err && typeof err === 'object' && 'type' in err && typeof err.type === 'string' && BODY_PARSER_ERRORS[err.type]) {
    const [status, code, message] = BODY_PARSER_ERRORS[err.type]!;
    return new ApiError(status, 'invalid_request_error', code, message);
  }
  return err && typeof err === 'object' ? unreadableRequest(err) : null;
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let apiError = toApiError(err);
  if (!apiError && isUnavailable(err)) {
    req.log?.warn({ err }, 'dependency unavailable');
    apiError = serviceUnavailable();
  }
  if (!apiError) {
    req.log?.error({ err }, 'unhandled error');
    apiError = new ApiError(
      500,
      'api_error',
      'internal_error',
      'Something went wrong on our side; the request id identifies it in our logs.',
    );
  }
  if (res.headersSent) return;
  if ('retryAfter' in apiError) res.setHeader('Retry-After', String(apiError.retryAfter));
  res.status(apiError.status).json(apiError.body());
};
