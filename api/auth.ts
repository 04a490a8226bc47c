// Who is calling: an API key with a role (server-to-server), or a user with a session cookie or a
// bearer token (HS256, carrying the user id, tenant, expiry and a token id). SESSION_SECRET is never
// used as a key itself: each purpose gets its own key derived from it (HKDF), so a signature made
// for one purpose (the referrer cookie signs text the visitor chooses) is never valid for another.
// Every user token is checked against PostgreSQL: not signed out, and its tenant is the user's.
import { createHash, createHmac, createSecretKey, hkdfSync, randomUUID, type KeyObject } from 'node:crypto';
import type { Request, Response } from 'express';
import { jwtVerify } from 'jose';
import { z } from 'zod';
import type { Db } from '../db/pool.ts';
import { revokeSession, sessionStanding } from '../db/sessions.ts';
import type { ApiKey, ApiKeyRole } from '../platform/env.ts';
import { ApiError } from './errors.ts';

/** A user's session as presented: its token id, expiry, and whether it came as the cookie. */
export type PresentedSession = { tokenId: string; expiresAt: Date; via: 'cookie' | 'bearer' };

export type Principal =
  | { type: 'api_key'; role: ApiKeyRole; tenantId?: string; keyId: string }
  | { type: 'user'; userId: string; tenantId: string; session?: PresentedSession };

/** Who may call a route: anyone, users (session or bearer), and/or API keys of these roles. */
export type Access = { public: true } | { users?: boolean; roles?: readonly ApiKeyRole[] };

export const SESSION_COOKIE = 'session';
const SESSION_TTL_SECONDS = 30 * 24 * 60 * 60;
const ISSUER = 'referral-graph';

/** The purposes SESSION_SECRET is stretched into; each its own key. */
export type KeyPurpose = 'session-token' | 'signed-cookie' | 'handoff';

/** A 256-bit key for one purpose, derived from SESSION_SECRET with HKDF-SHA256. */
export function purposeKey(sessionSecret: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', sessionSecret, 'referral-graph', `referral-graph ${purpose} v1`, 32));
}

export type AuthenticatorOptions = {
  /** Where user tokens are checked (revocation, tenant); without it the authenticator only issues. */
  db?: Db;
  /** https: session cookies are Secure. */
  publicBaseUrl?: string;
  /** Origins a cookie-authenticated write may come from. */
  allowedOrigins?: readonly string[];
};

export type Authenticator = {
  /** The caller, or null. Public routes ignore the session cookie (a bearer token is still checked). */
  principalOf(req: Request, route?: { public: boolean }): Promise<Principal | null>;
  issueSession(user: { userId: string; tenantId: string }): Promise<{ token: string; expiresAt: Date }>;
  /** Checks a user token's signature and claims (not its standing in PostgreSQL). */
  verifyToken(token: string): Promise<{ userId: string; tenantId: string; tokenId: string; expiresAt: Date }>;
  /** Signs the token out until it expires. */
  revoke(user: { userId: string; session: PresentedSession }): Promise<void>;
  setSessionCookie(req: Request, res: Response, session: { token: string; expiresAt: Date }): void;
  clearSessionCookie(req: Request, res: Response): void;
};

const HS256_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/**
 * A compact HS256 JWS, signed synchronously: signup issues one per request, and WebCrypto's async
 * HMAC costs more than the rest of the request. Verification stays with jose (jwtVerify).
 */
function signHs256(claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${HS256_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

const digest = (key: string) => createHash('sha256').update(key).digest('hex');

const claims = z.object({ sub: z.uuid(), tid: z.uuid(), jti: z.uuid(), exp: z.number().int() });

const invalidCredentials = (cause?: unknown) =>
  Object.assign(
    new ApiError(
      401,
      'authentication_error',
      'invalid_credentials',
      'The API key or token is not valid (or has expired).',
    ),
    { cause },
  );

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function createAuthenticator(
  apiKeys: readonly ApiKey[],
  sessionSecret: string,
  options: AuthenticatorOptions = {},
): Authenticator {
  const keysByDigest = new Map(apiKeys.map((k) => [digest(k.key), k]));
  // Imported once: importing the raw key on every sign or verify costs more than the HMAC itself.
  const tokenKey = createSecretKey(purposeKey(sessionSecret, 'session-token'));
  const secureCookies = options.publicBaseUrl?.startsWith('https:') ?? false;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);

  async function verifyToken(token: string) {
    try {
      const { payload } = await jwtVerify(token, tokenKey, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'tid'],
        maxTokenAge: SESSION_TTL_SECONDS + 60,
      });
      const c = claims.parse(payload);
      return { userId: c.sub, tenantId: c.tid, tokenId: c.jti, expiresAt: new Date(c.exp * 1000) };
    } catch (err) {
      throw invalidCredentials(err);
    }
  }

  async function userFromToken(token: string, via: PresentedSession['via']): Promise<Principal> {
    const { db } = options;
    if (!db) throw new Error('this authenticator only issues sessions: give it the database to check them');
    const verified = await verifyToken(token);
    const standing = await sessionStanding(db, verified.userId, verified.tokenId);
    if (!standing || standing.revoked || standing.tenantId !== verified.tenantId) throw invalidCredentials();
    return {
      type: 'user',
      userId: verified.userId,
      tenantId: verified.tenantId,
      session: { tokenId: verified.tokenId, expiresAt: verified.expiresAt, via },
    };
  }

  /** A write made with the session cookie must come from one of our origins (CSRF). */
  function checkOrigin(req: Request): void {
    if (!UNSAFE_METHODS.has(req.method)) return;
    const origin = req.get('origin');
    const referer = req.get('referer');
    let from: string | null = null;
    try {
      from = origin !== undefined ? new URL(origin).origin : referer !== undefined ? new URL(referer).origin : null;
    } catch {
      from = null;
    }
    if (from === null || !allowedOrigins.has(from))
      throw new ApiError(
        403,
        'permission_error',
        'origin_not_allowed',
        'A write authenticated by the session cookie must come from this application (Origin or Referer); other clients send the token as "Authorization: Bearer".',
      );
  }

  const cookieOptions = (req: Request) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: secureCookies || req.secure,
    path: '/',
  });

  return {
    async principalOf(req, route = { public: false }) {
      const header = req.get('authorization');
      if (header) {
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        if (!match)
          throw new ApiError(
            401,
            'authentication_error',
            'invalid_authorization_header',
            'Use "Authorization: Bearer <API key or token>".',
          );
        const keyDigest = digest(match[1]!);
        const apiKey = keysByDigest.get(keyDigest);
        if (apiKey)
          return {
            type: 'api_key',
            role: apiKey.role,
            keyId: keyDigest.slice(0, 12),
            ...(apiKey.tenantId ? { tenantId: apiKey.tenantId } : {}),
          };
        return userFromToken(match[1]!, 'bearer');
      }
      const cookie = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
      if (!cookie) return null;
      // Public routes do not act on the session, and a stale cookie (expired, signed out, from
      // before a key change) must not lock a browser out of them: the cookie is not read there.
      if (route.public) return null;
      const principal = await userFromToken(cookie, 'cookie');
      checkOrigin(req);
      return principal;
    },
    async issueSession({ userId, tenantId }) {
      const expiresAt = new Date(Date.now() + SESSION_TTL_SECONDS * 1000);
      const iat = Math.floor(Date.now() / 1000);
      return {
        token: signHs256(
          {
            tid: tenantId,
            sub: userId,
            iss: ISSUER,
            jti: randomUUID(),
            iat,
            exp: Math.floor(expiresAt.getTime() / 1000),
          },
          tokenKey,
        ),
        expiresAt,
      };
    },
    verifyToken,
    async revoke({ userId, session }) {
      if (!options.db) throw new Error('this authenticator only issues sessions: give it the database to revoke them');
      await revokeSession(options.db, { tokenId: session.tokenId, userId, expiresAt: session.expiresAt });
    },
    setSessionCookie(req, res, session) {
      res.cookie(SESSION_COOKIE, session.token, { ...cookieOptions(req), expires: session.expiresAt });
    },
    clearSessionCookie(req, res) {
      res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    },
  };
}

/** 401 without credentials, 403 with credentials that lack the role. */
export function authorize(access: Access, principal: Principal | null): void {
  if ('public' in access) return;
  if (!principal)
    throw new ApiError(
      401,
      'authentication_error',
      'missing_credentials',
      'This call needs an API key or a user session.',
    );
  const allowed = principal.type === 'user' ? access.users === true : (access.roles ?? []).includes(principal.role);
  if (!allowed) throw new ApiError(403, 'permission_error', 'forbidden', 'These credentials may not make this call.');
}

/** Who did it, for records such as approved_by: `admin-key:<id>` or `user:<id>`. */
export function principalLabel(principal: Principal | null): string {
  if (!principal) return 'anonymous';
  return principal.type === 'user' ? `user:${principal.userId}` : `${principal.role}-key:${principal.keyId}`;
}

/** A partner's own key, a user of the partner's tenant, or an admin may see a partner; others get 404. */
export function canSeeTenant(principal: Principal | null, tenantId: string): boolean {
  if (!principal) return false;
  if (principal.type === 'user') return principal.tenantId === tenantId;
  return principal.role === 'admin' || (principal.role === 'partner' && principal.tenantId === tenantId);
}
