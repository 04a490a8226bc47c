// Attribution across domains: GET /r/{code}?to=<domain> hands the visitor to an allowed domain with
// a one-time token naming their referrer; that domain's signup spends it (POST /v1/signups
// `handoff`). Allowed: HANDOFF_ALLOWED_DOMAINS and the custom domains of listings, exact host match.
import { randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import {
  DEFAULT_HANDOFF_TTL_MINUTES,
  handoffAllowed,
  handoffHost,
  handoffUrl,
  readHandoff,
  signHandoff,
} from '../domain/handoff.ts';
import { recordHandoffExchange } from '../db/handoffs.ts';
import { isListingDomain } from '../db/listings.ts';
import { conflict, invalid } from './errors.ts';

export type HandoffSettings = {
  /** The key hand-off tokens are signed with (SESSION_SECRET's 'handoff' purpose key). */
  key: Uint8Array;
  /** HANDOFF_ALLOWED_DOMAINS: host names, lower case. */
  allowedDomains: readonly string[];
  /** HANDOFF_TTL_MINUTES; the default when left out. */
  ttlMinutes?: number;
};

/**
 * The host a hand-off may go to: `to` as a plain host name, listed in HANDOFF_ALLOWED_DOMAINS or a
 * listing's custom domain, exactly. Anything else is a 400 `handoff_domain_not_allowed`.
 */
export async function handoffTarget(db: DatabasePool, settings: HandoffSettings, to: string): Promise<string> {
  const host = handoffHost(to);
  if (!host || !(handoffAllowed(host, settings.allowedDomains) || (await isListingDomain(db, host))))
    throw invalid(
      'handoff_domain_not_allowed',
      '`to` must be a host name listed in HANDOFF_ALLOWED_DOMAINS or a listing’s custom domain (exact match, no scheme, port or path).',
      'to',
    );
  return host;
}

/** Where the visitor goes: `https://<host>/?rg_handoff=<token>`, the token naming the referrer and listing. */
export function handoffLocation(
  settings: HandoffSettings,
  host: string,
  referral: { ref: string; listingId?: string | undefined },
  now = new Date(),
): string {
  const ttl = settings.ttlMinutes ?? DEFAULT_HANDOFF_TTL_MINUTES;
  const token = signHandoff(settings.key, {
    id: randomUUID(),
    ref: referral.ref,
    ...(referral.listingId ? { listing: referral.listingId } : {}),
    host,
    exp: Math.floor(now.getTime() / 1000) + ttl * 60,
  });
  return handoffUrl(host, token);
}

/**
 * Spends a hand-off token, once: the referrer (and listing) it names. Altered or malformed: 400
 * `handoff_invalid`; expired: 400 `handoff_expired`; spent already: 409 `handoff_used`.
 */
export async function exchangeHandoff(
  db: DatabasePool,
  settings: HandoffSettings | undefined,
  token: string,
  now = new Date(),
): Promise<{ ref: string; listingId?: string }> {
  const reading = settings ? readHandoff(settings.key, token, now) : ({ ok: false, reason: 'invalid' } as const);
  if (!reading.ok)
    throw reading.reason === 'expired'
      ? invalid('handoff_expired', 'This hand-off has expired: follow the referral link again.', 'handoff')
      : invalid('handoff_invalid', 'This hand-off token is not valid.', 'handoff');
  const { claims } = reading;
  const first = await recordHandoffExchange(db, {
    id: claims.id,
    domain: claims.host,
    ref: claims.ref,
    listingId: claims.listing ?? null,
    expiresAt: new Date(claims.exp * 1000),
  });
  if (!first) throw conflict('handoff_used', 'This hand-off token was used already.', 'handoff');
  return { ref: claims.ref, ...(claims.listing ? { listingId: claims.listing } : {}) };
}
