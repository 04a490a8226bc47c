// Who is calling: an API key with a role (server-to-server), or a user with a session cookie or a
// bearer token (HS256, signed with SESSION_SECRET, carrying the user id and tenant).
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { jwtVerify, SignJWT } from 'jose';
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

const digest = (key: string) => createHash('sha256').update(key).digest('hex');

export function createAuthenticator(apiKeys: readonly ApiKey[], sessionSecret: string): Authenticator {
  const keysByDigest = new Map(apiKeys.map((k) => [digest(k.key), k]));
  const secret = new TextEncoder().encode(sessionSecret);

  async function userFromToken(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], issuer: ISSUER });
      if (typeof payload.sub !== 'string' || typeof payload.tid !== 'string') throw new Error('claims missing');
      return { type: 'user', userId: payload.sub, tenantId: payload.tid };
    } catch {
      throw new ApiError(401, 'authentication_error', 'invalid_credentials', 'The API key or token is not valid (or has expired).');
    }
  }

  return {
    async principalOf(req) {
      const header = req.get('authorization');
      if (header) {
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        if (!match) throw new ApiError(401, 'authentication_error', 'invalid_authorization_header', 'Use "Authorization: Bearer <API key or token>".');
        const keyDigest = digest(match[1]!);
        const apiKey = keysByDigest.get(keyDigest);
        if (apiKey) return { type: 'api_key', role: apiKey.role, keyId: keyDigest.slice(0, 12), ...(apiKey.tenantId ? { tenantId: apiKey.tenantId } : {}) };
        return userFromToken(match[1]!);
      }
      const cookie = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
      return cookie ? userFromToken(cookie) : null;
    },
    async issueSession({ userId, tenantId }) {
      const expiresAt = new Date(Date.now() + SESSION_TTL_SECONDS * 1000);
      const token = await new SignJWT({ tid: tenantId })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(secret);
      return { token, expiresAt };
    },
  };
}

/** 401 without credentials, 403 with credentials that lack the role. */
export function authorize(access: Access, principal: Principal | null): void {
  if ('public' in access) return;
  if (!principal) throw new ApiError(401, 'authentication_error', 'missing_credentials', 'This call needs an API key or a user session.');
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
