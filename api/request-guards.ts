// What every request passes before any route: input no route could store (a NUL character, which
// PostgreSQL text refuses; a path whose %-escapes do not decode) is a 400 here, once for all routes;
// every answer carries the security headers; a known path asked with a method it does not serve is
// a 405 naming the methods it does.
import type { RequestHandler } from 'express';
import { ApiError, badPath } from './errors.ts';

/** The first string (value or key) holding a NUL, found without recursion (bodies may nest deep). */
export function findNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (item.includes('\0')) return true;
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes('\0')) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

const nulIn = (location: string) =>
  new ApiError(
    400,
    'invalid_request_error',
    'nul_character',
    `The ${location} holds a NUL character (\\u0000), which no field accepts.`,
  );

/** Refuses a path that does not decode or holds a NUL, before routing and body parsing. */
export const refuseUnreadablePath: RequestHandler = (req, _res, next) => {
  let path: string;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    return next(badPath());
  }
  if (path.includes('\0')) return next(badPath());
  if (findNul(req.query)) return next(nulIn('query'));
  next();
};

/** Refuses a parsed body with a NUL in any string or key. */
export const refuseNulInBody: RequestHandler = (req, _res, next) => {
  next(findNul(req.body) ? nulIn('body') : undefined);
};

/** Headers on every answer; HSTS only when the public URL is https (a browser honours it only there). */
export function securityHeaders(publicBaseUrl: string): RequestHandler {
  const hsts = publicBaseUrl.startsWith('https:');
  return (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
    res.setHeader('X-Frame-Options', 'DENY');
    // API answers are per caller and may carry tokens: never stored by a browser or proxy. The
    // static assets of /docs set their own Cache-Control.
    res.setHeader('Cache-Control', 'no-store');
    if (hsts) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    next();
  };
}

export type KnownPath = { path: string; methods: readonly string[] };

/** 405 with Allow for a known path asked with another method (TRACE included); else on to the 404. */
export function methodNotAllowed(known: readonly KnownPath[]): RequestHandler {
  const byPattern = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const { path, methods } of known) {
    const source = `^${path
      .split(/(\{\w+\}|\*)/)
      .map((part) =>
        part === '*' ? '.+' : /^\{\w+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('')}/?$`;
    const entry = byPattern.get(source) ?? { pattern: new RegExp(source), methods: new Set<string>() };
    for (const m of methods) entry.methods.add(m.toUpperCase());
    byPattern.set(source, entry);
  }
  return (req, res, next) => {
    const allowed = new Set<string>();
    for (const { pattern, methods } of byPattern.values())
      if (pattern.test(req.path)) for (const m of methods) allowed.add(m);
    if (allowed.size === 0 || allowed.has(req.method)) return next();
    if (allowed.has('GET')) allowed.add('HEAD');
    const allow = [...allowed].sort().join(', ');
    res.setHeader('Allow', allow);
    next(
      new ApiError(
        405,
        'invalid_request_error',
        'method_not_allowed',
        `${req.method} is not allowed on ${req.path}; allowed: ${allow}.`,
      ),
    );
  };
}
