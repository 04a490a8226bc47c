import { z } from 'zod';
import { isEmail } from '../../domain/email.ts';
import { edgeWorkflowId } from '../../contracts/edge-lifecycle.ts';
import { signUp, type SignupDeps } from '../../services/signups.ts';
import { shareForUser } from '../../services/share.ts';
import { warmSignals } from '../../services/fraud-signals.ts';
import type { Authenticator } from '../auth.ts';
import { rememberedReferral } from '../referrer-cookie.ts';
import { defineRoute } from '../route.ts';
import { shareView, toShareView } from './share.ts';
import { edgeView, redemptionView, toEdgeView, toRedemptionView, toUserView, userView } from '../views.ts';

const signupRequest = z.strictObject({
  email: z.string().max(254).refine(isEmail, 'must be an email address'),
  ref: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe(
      "The referrer: a user id, a user's referral code or a partner's code. Defaults to the referrer cookie set by /r/{code} or ?ref=.",
    ),
  code: z.string().min(1).max(64).optional().describe('An invite code, redeemed with the signup.'),
  listingId: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe(
      "The listing whose share link brought the user (its creator is the referrer when no ref is named). Defaults to the share token cookie's first listing from the remembered referrer.",
    ),
  handoff: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    .optional()
    .describe(
      'A hand-off token (the `rg_handoff` a referral link followed with `?to=` brought to this domain): its referrer and listing stand in for the cookies unless ref or code is named. Spent once: altered 400 `handoff_invalid`, expired 400 `handoff_expired`, used 409 `handoff_used`.',
    ),
  deviceId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe(
      "The client's device id, opaque (e.g. a device fingerprint): a fraud signal, with the address the request came from.",
    ),
});

const signupResponse = z.object({
  user: userView,
  edge: edgeView.nullable(),
  redemption: redemptionView.nullable(),
  session: z
    .object({ token: z.string(), expiresAt: z.iso.datetime() })
    .nullable()
    .describe(
      'A bearer token for the new user; also set as the session cookie. null on an Idempotency-Key replay (a retry of a signup whose answer was lost included): a token is handed out once and never stored.',
    ),
  share: shareView.describe(
    'The share moment: link, Open Graph card and copy per channel, as GET /v1/share/me gives them (an Idempotency-Key replay repeats the first answer).',
  ),
});

export function signupRoutes(deps: SignupDeps & { publicBaseUrl: string }, auth: Authenticator) {
  warmSignals(deps.fraud);
  return [
    defineRoute({
      method: 'post',
      path: '/v1/signups',
      operationId: 'createSignup',
      summary: 'Sign up a user, with whoever brought them',
      description: `Creates the user and, when a referrer is named (ref, invite code, or the cookies a referral link set), the one permanent edge referrer -> referee. The edge's lifecycle workflow \`${edgeWorkflowId('<refereeId>')}\` starts right after the response.`,
      tags: ['signups'],
      access: { public: true },
      rateLimitGroup: 'signups',
      idempotent: true,
      replayBody: (reply) => ({ ...(reply as object), session: null }),
      body: signupRequest,
      responses: { 201: { description: 'Created', schema: signupResponse } },
      handle: async ({ body, req, res, idempotency }) => {
        const remembered = body.ref || body.code ? {} : rememberedReferral(req);
        const { user, edge, redemption, replayed } = await signUp(deps, {
          ...remembered,
          ...body,
          listingId: body.listingId ?? remembered.listingId,
          refFromCookie: body.ref === undefined && remembered.ref !== undefined,
          // The socket's address, or the client's as a trusted proxy reported it (Express's trust proxy).
          ip: req.ip,
          signupKey: idempotency,
        });
        const share = await shareForUser(deps, user.id);
        const answer = {
          user: toUserView(user),
          edge: edge && toEdgeView(edge),
          redemption: redemption && toRedemptionView(redemption),
          share: toShareView(share),
        };
        // A retry (same Idempotency-Key and body) of a signup that committed but whose answer was lost
        // answers as a replay does: the same user and edge, and no session token (handed out once).
        if (replayed)
          return { status: 201, body: { ...answer, session: null }, headers: { 'Idempotent-Replayed': 'true' } };
        const session = await auth.issueSession({ userId: user.id, tenantId: user.tenant_id });
        auth.setSessionCookie(req, res, session);
        return {
          status: 201,
          body: { ...answer, session: { token: session.token, expiresAt: session.expiresAt.toISOString() } },
        };
      },
    }),
  ];
}
