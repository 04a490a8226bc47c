import { z } from 'zod';
import type { Authenticator, Principal, PresentedSession } from '../auth.ts';
import { defineRoute } from '../route.ts';

export const sessionView = z
  .object({ token: z.string(), expiresAt: z.iso.datetime() })
  .describe('A bearer token for the user; also set as the session cookie.');

/** The signed-in user and the session they called with (routes with `access: { users: true }` only). */
function presented(principal: Principal | null): { userId: string; tenantId: string; session: PresentedSession } {
  if (principal?.type !== 'user' || !principal.session) throw new Error('a session route reached without a session');
  return { userId: principal.userId, tenantId: principal.tenantId, session: principal.session };
}

export function sessionRoutes(auth: Authenticator) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/sessions/sign-out',
      operationId: 'signOut',
      summary: 'Sign out: the presented token stops working, and the session cookie is cleared',
      description:
        'Revokes the token the call was made with (bearer or cookie) until it would have expired; other sessions of the user stay valid. A cookie-authenticated call must come from this application (Origin or Referer).',
      tags: ['sessions'],
      access: { users: true },
      responses: { 204: { description: 'Signed out' } },
      handle: async ({ principal, req, res }) => {
        const user = presented(principal);
        await auth.revoke({ userId: user.userId, session: user.session });
        auth.clearSessionCookie(req, res);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/sessions/refresh',
      operationId: 'refreshSession',
      summary: 'Rotate the session: a new token (and cookie), the presented one revoked',
      tags: ['sessions'],
      access: { users: true },
      responses: { 201: { description: 'The new session', schema: z.object({ session: sessionView }) } },
      handle: async ({ principal, req, res }) => {
        const user = presented(principal);
        const session = await auth.issueSession({ userId: user.userId, tenantId: user.tenantId });
        await auth.revoke({ userId: user.userId, session: user.session });
        if (user.session.via === 'cookie') auth.setSessionCookie(req, res, session);
        return { status: 201, body: { session: { token: session.token, expiresAt: session.expiresAt.toISOString() } } };
      },
    }),
  ];
}
