// The long-lived referrer cookie and the per-listing share token, set by the server (signed,
// HttpOnly, SameSite=Lax) from /r/{code} or any request with ?ref=, and read at signup, so
// attribution survives an auth hop and a return days later. The first referrer seen is kept.
// Signed with a key of their own (api/auth.ts purposeKey 'signed-cookie'), never the session key:
// the value is whatever the visitor put in the link. Secure when the public URL is https.
import type { Request, RequestHandler, Response } from 'express';

export const REFERRER_COOKIE = 'ref';
export const SHARE_COOKIE = 'share_listing';
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

export function rememberReferrer(req: Request, res: Response, ref: string, listingId?: string): void {
  if (!TOKEN.test(ref)) return;
  if (!signedCookie(req, REFERRER_COOKIE)) res.cookie(REFERRER_COOKIE, ref, options(req, NINETY_DAYS_MS));
  if (listingId && TOKEN.test(listingId)) res.cookie(SHARE_COOKIE, `${listingId}:${ref}`, options(req, THIRTY_DAYS_MS));
}

export function signedCookie(req: Request, name: string): string | undefined {
  const value = (req.signedCookies as Record<string, string | false> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** The referrer and listing the cookies remember, if any. */
export function rememberedReferral(req: Request): { ref?: string; listingId?: string } {
  const share = signedCookie(req, SHARE_COOKIE);
  const [listingId, shareRef] = share ? share.split(':') : [];
  const ref = signedCookie(req, REFERRER_COOKIE) ?? shareRef;
  return { ...(ref ? { ref } : {}), ...(listingId ? { listingId } : {}) };
}

/** Any request carrying ?ref= (and optionally ?listing=) sets the cookies. */
export const referrerFromQuery: RequestHandler = (req, res, next) => {
  const ref = req.query.ref;
  const listing = req.query.listing;
  if (typeof ref === 'string') rememberReferrer(req, res, ref, typeof listing === 'string' ? listing : undefined);
  next();
};
