// The long-lived referrer cookie and the per-listing share tokens, set by the server (signed,
// HttpOnly, SameSite=Lax) from /r/{code} or any request with ?ref=, and read at signup, so
// attribution survives an auth hop and a return days later. The first referrer seen is kept.
// Signed with a key of their own (api/auth.ts purposeKey 'signed-cookie'), never the session key:
// the value is whatever the visitor put in the link. Secure when the public URL is https.
//
// The share cookie keeps one token per listing seen, up to MAX_SHARED_LISTINGS, each with the ref
// of the link that showed it and when it was first seen (`<listing>:<ref>:<seconds>`, `|` between
// them), so a visitor who saw two listings keeps both. At signup the listing that brought them is
// the first one seen from the referrer the referrer cookie keeps (services/listings.ts checks that
// it is that referrer's listing).
import type { Request, RequestHandler, Response } from 'express';

export const REFERRER_COOKIE = 'ref';
export const SHARE_COOKIE = 'share_listing';
/** Listings the share cookie remembers; later ones are not added (the first seen are the ones that count). */
export const MAX_SHARED_LISTINGS = 10;
const NINETY_DAYS_MS = 90 * 24 * 60 * 60 * 1000;
const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;
const TOKEN = /^[A-Za-z0-9_.-]{1,64}$/;

/** The app setting that makes every cookie Secure (set when PUBLIC_BASE_URL is https). */
export const SECURE_COOKIES_SETTING = 'secure cookies';

const options = (req: Request, maxAge: number) => ({
  signed: true,
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: req.secure || req.app.get(SECURE_COOKIES_SETTING) === true,
  maxAge,
  path: '/',
});

export type SharedListing = { listingId: string; ref: string; firstSeen: number };

/** The share tokens a cookie holds, oldest first; a token older than the cookie's life, or malformed, is dropped. */
export function sharedListings(value: string | undefined, now = Date.now()): SharedListing[] {
  if (!value) return [];
  const out: SharedListing[] = [];
  for (const entry of value.split('|')) {
    const [listingId, ref, seen] = entry.split(':');
    // A token from before first-seen times were kept counts as the oldest.
    const firstSeen = seen === undefined ? 0 : Number(seen);
    if (!listingId || !ref || !TOKEN.test(listingId) || !TOKEN.test(ref) || !Number.isSafeInteger(firstSeen)) continue;
    if (seen !== undefined && now - firstSeen * 1000 > THIRTY_DAYS_MS) continue;
    if (out.some((l) => l.listingId === listingId)) continue;
    out.push({ listingId, ref, firstSeen });
  }
  return out.sort((a, b) => a.firstSeen - b.firstSeen).slice(0, MAX_SHARED_LISTINGS);
}

const formatShared = (listings: readonly SharedListing[]) =>
  listings.map((l) => `${l.listingId}:${l.ref}:${l.firstSeen}`).join('|');

/**
 * Remembers the referrer (unless one is remembered already) and the listing's share token (unless
 * that listing is remembered already); answers the referral the cookies now name, as signup would
 * read it.
 */
export function rememberReferrer(
  req: Request,
  res: Response,
  ref: string,
  listingId?: string,
): { ref?: string; listingId?: string } {
  if (!TOKEN.test(ref)) return rememberedReferral(req);
  const firstRef = signedCookie(req, REFERRER_COOKIE);
  if (!firstRef) res.cookie(REFERRER_COOKIE, ref, options(req, NINETY_DAYS_MS));
  let listings = sharedListings(signedCookie(req, SHARE_COOKIE));
  if (
    listingId &&
    TOKEN.test(listingId) &&
    !listings.some((l) => l.listingId === listingId) &&
    listings.length < MAX_SHARED_LISTINGS
  ) {
    listings = [...listings, { listingId, ref, firstSeen: Math.floor(Date.now() / 1000) }];
    res.cookie(SHARE_COOKIE, formatShared(listings), options(req, THIRTY_DAYS_MS));
  }
  return resolve(firstRef ?? ref, listings);
}

export function signedCookie(req: Request, name: string): string | undefined {
  const value = (req.signedCookies as Record<string, string | false> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

function resolve(ref: string | undefined, listings: readonly SharedListing[]): { ref?: string; listingId?: string } {
  const referrer = ref ?? listings[0]?.ref;
  const listing = listings.find((l) => l.ref === referrer);
  return { ...(referrer ? { ref: referrer } : {}), ...(listing ? { listingId: listing.listingId } : {}) };
}

/**
 * The referrer and listing the cookies remember, if any: the referrer cookie's (else the first share
 * token's) referrer, and the first listing seen through that referrer's links.
 */
export function rememberedReferral(req: Request): { ref?: string; listingId?: string } {
  return resolve(signedCookie(req, REFERRER_COOKIE), sharedListings(signedCookie(req, SHARE_COOKIE)));
}

/** Any request carrying ?ref= (and optionally ?listing=) sets the cookies. */
export const referrerFromQuery: RequestHandler = (req, res, next) => {
  const ref = req.query.ref;
  const listing = req.query.listing;
  if (typeof ref === 'string') rememberReferrer(req, res, ref, typeof listing === 'string' ? listing : undefined);
  next();
};
