// Who is calling: an API key with a role (server-to-server), or a user with a session cookie or a
// bearer token (HS256, signed with SESSION_SECRET, carrying the user id and tenant).
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Request } from 'express';
import { jwtVerify } from 'jose';
import type { ApiKey, ApiKeyRole } from '../platform/env.ts';
import { ApiError } from './errors.ts';

export type Principal =
  | { type: 'api_key'; role: ApiKeyRole; tenantId?: string; keyId: string }
  | { type: 'user'; userId: string; tenantId: string };

/** Who may call a route: anyone, users (session or bearer), and/or API keys of these roles. */
export type Access = { public: true } | { users?: boolean; roles?: readonly ApiKeyRole[] };

export const SESSION_COOKIE = 'session';
const SESSION_TTL_SECONDS = 30 * 24 * 60 * 60;
const ISSUER = 'referral-graph';

export type Authenticator = {
  principalOf(req: Request): Promise<Principal | null>;
  issueSession(user: { userId: string; tenantId: string }): Promise<{ token: string; expiresAt: Date }>;
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

export function createAuthenticator(apiKeys: readonly ApiKey[], sessionSecret: string): Authenticator {
  const keysByDigest = new Map(apiKeys.map((k) => [digest(k.key), k]));
  // Imported once: importing the raw secret on every sign or verify costs more than the HMAC itself.
  const secret = createSecretKey(Buffer.from(sessionSecret, 'utf8'));

  async function userFromToken(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: ISSUER });
      if (typeof payload.sub !== 'string' || typeof payload.tid !== 'string') throw new Error('claims missing');
      return { type: 'user', userId: payload.sub, tenantId: payload.tid };
    } catch {
      throw new ApiError(
        401,
        'authentication_error',
        'invalid_credentials',
        'The API key or token is not valid (or has expired).',
      );
    }
  }

  return {
    async principalOf(req) {
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
        return userFromToken(match[1]!);
      }
      const cookie = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
      return cookie ? userFromToken(cookie) : null;
    },
    async issueSession({ userId, tenantId }) {
      const expiresAt = new Date(Date.now() + SESSION_TTL_SECONDS * 1000);
      const iat = Math.floor(Date.now() / 1000);
      return {
        token: signHs256(
          { tid: tenantId, sub: userId, iss: ISSUER, iat, exp: Math.floor(expiresAt.getTime() / 1000) },
          secret,
        ),
        expiresAt,
      };
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
