// The cross-domain hand-off: a referral link followed with `?to=<domain>` sends the visitor to that
// domain carrying a short-lived signed token naming their referrer (and listing), which the other
// domain's signup spends once. Pure: where a hand-off may go, and the token's form.
//
// Token: `<claims>.<mac>`, both base64url; claims are JSON { id, ref, listing?, host, exp } and the
// mac is HMAC-SHA256 over the claims' text with a key of its own (SESSION_SECRET's 'handoff' key).
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a hand-off token lives unless HANDOFF_TTL_MINUTES says otherwise. */
export const DEFAULT_HANDOFF_TTL_MINUTES = 5;

/** The query parameter the other domain's page receives the token in. */
export const HANDOFF_PARAM = 'rg_handoff';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** A DNS name of at least two labels, letters, digits and hyphens only: no port, userinfo, path or IP tricks. */
const HOST = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

/**
 * The host a `to` names, lower case, or null when it is not a plain host name (a URL, a port,
 * userinfo, a trailing dot, an address, anything but letters, digits, hyphens and dots).
 */
export function handoffHost(to: string): string | null {
  const host = to.toLowerCase();
  if (!HOST.test(host)) return null;
  // The last label of a name is never all digits: refuses dotted IPv4 addresses.
  if (/^\d+$/.test(host.slice(host.lastIndexOf('.') + 1))) return null;
  return host;
}

/** Exact match only: a sub-domain of an allowed domain is another domain. */
export function handoffAllowed(host: string, allowed: readonly string[]): boolean {
  return allowed.includes(host);
}

/** Where the visitor is sent: the domain's root over https, the token in the query. */
export function handoffUrl(host: string, token: string): string {
  const url = new URL(`https://${host}/`);
  if (url.hostname !== host || url.port !== '' || url.username !== '' || url.password !== '')
    throw new Error(`not a plain host: ${host}`);
  url.searchParams.set(HANDOFF_PARAM, token);
  return url.toString();
}

export type HandoffClaims = { id: string; ref: string; listing?: string; host: string; exp: number };

const mac = (key: Uint8Array, text: string) => createHmac('sha256', key).update(text).digest();

export function signHandoff(key: Uint8Array, claims: HandoffClaims): string {
  const text = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${text}.${mac(key, text).toString('base64url')}`;
}

export type HandoffReading = { ok: true; claims: HandoffClaims } | { ok: false; reason: 'invalid' | 'expired' };

const str = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** The claims of a token signed with `key`, unless it was altered, is malformed, or expired before `now`. */
export function readHandoff(key: Uint8Array, token: string, now: Date): HandoffReading {
  const [text, signature, ...rest] = token.split('.');
  if (!text || !signature || rest.length > 0) return { ok: false, reason: 'invalid' };
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(key, text);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (
    typeof claims !== 'object' ||
    claims === null ||
    !str(claims.id, 64) ||
    !str(claims.ref, 64) ||
    !str(claims.host, 253) ||
    (claims.listing !== undefined && !str(claims.listing, 64)) ||
    typeof claims.exp !== 'number' ||
    !Number.isInteger(claims.exp)
  )
    return { ok: false, reason: 'invalid' };
  if (claims.exp * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, claims: claims as HandoffClaims };
}
