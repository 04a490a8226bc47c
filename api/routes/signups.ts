import { z } from 'zod';
import { isEmail } from '../../domain/email.ts';
import { EDGE_KINDS, EDGE_SOURCES, edgeWorkflowId } from '../../domain/edge.ts';
import { signUp, type SignupDeps } from '../../services/signups.ts';
import { SESSION_COOKIE, type Authenticator } from '../auth.ts';
import { defineRoute } from '../route.ts';

const signupRequest = z.strictObject({
  email: z.string().max(254).refine(isEmail, 'must be an email address'),
  ref: z.string().min(1).max(64).optional().describe('The referrer: their user id or referral code.'),
});

export const userView = z.object({
  id: z.uuid(),
  tenantId: z.uuid(),
  email: z.string(),
  referralCode: z.string(),
  status: z.enum(['waitlisted', 'active']),
  createdAt: z.iso.datetime(),
});

export const edgeView = z.object({
  id: z.uuid(),
  referrerId: z.uuid(),
  refereeId: z.uuid(),
  kind: z.enum(EDGE_KINDS),
  source: z.enum(EDGE_SOURCES),
  workflowId: z.string().describe('The Temporal workflow that carries the edge through its lifecycle.'),
  createdAt: z.iso.datetime(),
});

const signupResponse = z.object({
  user: userView,
  edge: edgeView.nullable(),
  session: z.object({ token: z.string(), expiresAt: z.iso.datetime() }).describe('A bearer token for the new user; also set as the session cookie.'),
});

export function signupRoutes(deps: SignupDeps, auth: Authenticator) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/signups',
      operationId: 'createSignup',
      summary: 'Sign up a user, with the referrer who brought them',
      description: 'Creates the user and, when `ref` names an existing user, the one permanent edge referrer -> referee. The edge\'s lifecycle workflow `edge:<refereeId>` starts right after the response.',
      tags: ['signups'],
      access: { public: true },
      body: signupRequest,
      responses: { 201: { description: 'Created', schema: signupResponse } },
      handle: async ({ body, res }) => {
        const { user, edge } = await signUp(deps, body);
        const session = await auth.issueSession({ userId: user.id, tenantId: user.tenant_id });
        res.cookie(SESSION_COOKIE, session.token, { httpOnly: true, sameSite: 'lax', secure: res.req.secure, expires: session.expiresAt, path: '/' });
        return {
          status: 201,
          body: {
            user: { id: user.id, tenantId: user.tenant_id, email: user.email, referralCode: user.referral_code, status: user.status, createdAt: user.created_at.toISOString() },
            edge: edge && {
              id: edge.id,
              referrerId: edge.referrer_id,
              refereeId: edge.referee_id,
              kind: edge.kind,
              source: edge.source,
              workflowId: edgeWorkflowId(edge.referee_id),
              createdAt: edge.created_at.toISOString(),
            },
            session: { token: session.token, expiresAt: session.expiresAt.toISOString() },
          },
        };
      },
    }),
  ];
}
