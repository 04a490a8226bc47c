// Logging (pino). Credentials never reach a log line: request and response headers that carry
// them (Authorization, cookies, provider signatures), query parameters named like one, and fields
// named token, secret, password or key anywhere near the top of a logged object are replaced by
// REDACTED before the line is written.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const REDACTED = '[redacted]';

/** Header names whose values are credentials: Authorization, cookies, webhook signatures, API keys. */
const SECRET_HEADER = /authorization|cookie|signature|secret|token|api[-_]?key|session/i;
/** Query parameter and field names whose values are credentials. */
const SECRET_NAME = /token|secret|password|passwd|signature|api[-_]?key|session|^key$|^sig$|^code_verifier$/i;

const FIELDS = ['token', 'accessToken', 'refreshToken', 'secret', 'password', 'apiKey', 'sessionSecret', 'session'];
const REDACT_PATHS = FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export function redactHeaders(headers: unknown): unknown {
  if (!headers || typeof headers !== 'object') return headers;
  return Object.fromEntries(
    Object.entries(headers as Record<string, unknown>).map(([name, value]) => [
      name,
      SECRET_HEADER.test(name) ? REDACTED : value,
    ]),
  );
}

/** The URL with the values of credential-like query parameters replaced. */
export function redactUrl(url: unknown): unknown {
  if (typeof url !== 'string') return url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // a broken escape: judge the raw name
      }
      return eq >= 0 && SECRET_NAME.test(name) ? `${rawName}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${query.join('&')}`;
}

function redactQuery(query: unknown): unknown {
  if (!query || typeof query !== 'object') return query;
  return Object.fromEntries(
    Object.entries(query as Record<string, unknown>).map(([k, v]) => [k, SECRET_NAME.test(k) ? REDACTED : v]),
  );
}

/** pino-http's request serializer, wrapped: what it logs of a request (a copy), credentials removed. */
export function redactRequest<T extends { headers?: unknown; url?: unknown; query?: unknown }>(req: T): T {
  req.headers = redactHeaders(req.headers);
  req.url = redactUrl(req.url);
  if ('query' in req) req.query = redactQuery(req.query);
  return req;
}

/** pino-http's response serializer, wrapped: Set-Cookie and the like removed. */
export function redactResponse<T extends { headers?: unknown }>(res: T): T {
  res.headers = redactHeaders(res.headers);
  return res;
}

export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    name,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
  };
  return destination ? pino(options, destination) : pino(options);
}
