import { z } from 'zod';
import { DEFAULT_TRACK_WINDOW_MINUTES } from '../../domain/attribution.ts';
import { attributeByAdmin, validateCode, trackReferral, type TrackDeps } from '../../services/attribution.ts';
import { handoffLocation, handoffTarget, type HandoffSettings } from '../../services/handoff.ts';
import { principalLabel } from '../auth.ts';
import { rememberReferrer } from '../referrer-cookie.ts';
import { defineRoute } from '../route.ts';
import { edgeView, toEdgeView } from '../views.ts';

const validateResponse = z.union([
  z.object({
    valid: z.literal(true),
    type: z.enum(['partner', 'user', 'invite']),
    flavor: z.string().optional(),
    usesLeft: z.number().int().optional(),
    expiresAt: z.iso.datetime().nullable().optional(),
  }),
  z.object({ valid: z.literal(false), reason: z.enum(['not_found', 'expired', 'exhausted', 'partner_not_approved']) }),
]);

const adminAttribution = z.strictObject({
  refereeId: z.uuid().describe('The user to attribute.'),
  ref: z.string().min(1).max(64).describe("Who brought them: a user's id or referral code, or a partner's code."),
  reason: z.string().min(1).max(500).describe('Why, kept on the attribution event with the admin who decided it.'),
});

export function referralRoutes(deps: TrackDeps & { landingPage: string; handoff: HandoffSettings }) {
  const windowMinutes = deps.trackWindowMinutes ?? DEFAULT_TRACK_WINDOW_MINUTES;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/referrals/validate',
      operationId: 'validateReferral',
      summary: 'Is this code or ref valid?',
      description:
        'Valid when it exists, is not expired or used up, and (for a partner code) its partner is approved; otherwise the reason.',
      tags: ['referrals'],
      access: { public: true },
      rateLimitGroup: 'validate',
      body: z.strictObject({ code: z.string().min(1).max(64) }),
      responses: { 200: { description: 'The verdict', schema: validateResponse } },
      handle: async ({ body }) => {
        const verdict = await validateCode(deps.db, body.code);
        return {
          status: 200,
          body:
            verdict.valid && 'expiresAt' in verdict
              ? { ...verdict, expiresAt: verdict.expiresAt?.toISOString() ?? null }
              : verdict,
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/referrals/track',
      operationId: 'trackReferral',
      summary: 'Bind a referral to the signed-in user, at signup',
      description: `Writes the edge from the referrer the code names to the caller. When the caller was already attributed, answers the existing edge (first touch wins) and records the attempt. A caller nobody referred may name a referrer only within ${windowMinutes} minutes of signing up (TRACK_WINDOW_MINUTES): later it is a 409 \`attribution_window_closed\`, the attempt is recorded and nothing else is written (an admin attributes instead: POST /v1/admin/attributions). Accepts the session cookie or a bearer token.`,
      tags: ['referrals'],
      access: { users: true },
      idempotent: true,
      body: z.strictObject({ ref: z.string().min(1).max(64), listingId: z.string().min(1).max(64).optional() }),
      responses: {
        201: {
          description: 'The edge was written',
          schema: z.object({ outcome: z.literal('edge_written'), edge: edgeView }),
        },
        200: {
          description: 'Already attributed: the existing edge',
          schema: z.object({ outcome: z.literal('already_attributed'), edge: edgeView }),
        },
      },
      handle: async ({ body, principal }) => {
        const result = await trackReferral(deps, {
          userId: principal!.type === 'user' ? principal!.userId : '',
          ref: body.ref,
          listingId: body.listingId,
        });
        return {
          status: result.outcome === 'edge_written' ? 201 : 200,
          body: { outcome: result.outcome, edge: toEdgeView(result.edge) },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/admin/attributions',
      operationId: 'attributeUser',
      summary: 'Attribute a user after signup (an admin decision)',
      description:
        'Writes the edge from the referrer `ref` names to the user, through the same writer as signup and tracking, and records on the attribution event the admin who decided it and why. First touch wins: a user already attributed keeps their edge (200) and the attempt is recorded. Errors: `user_not_found` (404), `referrer_not_found`, `referrer_not_approved`, `self_referral` (400).',
      tags: ['referrals'],
      access: { roles: ['admin'] },
      idempotent: true,
      body: adminAttribution,
      responses: {
        201: {
          description: 'The edge was written',
          schema: z.object({
            outcome: z.literal('edge_written'),
            edge: edgeView,
            decidedBy: z.string(),
            reason: z.string(),
          }),
        },
        200: {
          description: 'Already attributed: the existing edge, unchanged',
          schema: z.object({
            outcome: z.literal('already_attributed'),
            edge: edgeView,
            decidedBy: z.string(),
            reason: z.string(),
          }),
        },
      },
      handle: async ({ body, principal }) => {
        const decidedBy = principalLabel(principal);
        const result = await attributeByAdmin(deps, { ...body, decidedBy });
        return {
          status: result.outcome === 'edge_written' ? 201 : 200,
          body: { outcome: result.outcome, edge: toEdgeView(result.edge), decidedBy, reason: body.reason },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/r/{code}',
      operationId: 'followReferralLink',
      summary: 'A referral link: remember the referrer, then go to the landing page (or hand off to another domain)',
      description:
        "Sets the referrer cookie (signed, HttpOnly, SameSite=Lax, 90 days; the first referrer is kept) and, with `?listing=`, a share token for that listing (30 days; up to 10 listings are kept, each with when it was first seen). Signup reads them. With `?to=<host>`, the visitor is sent to `https://<host>/?rg_handoff=<token>` instead: a signed token naming the referrer and listing the cookies keep, spent once by that domain's signup (POST /v1/signups `handoff`) within HANDOFF_TTL_MINUTES. The host must be listed in HANDOFF_ALLOWED_DOMAINS or be a listing's custom domain, exactly; anything else is a 400 `handoff_domain_not_allowed`, with no redirect and no cookie.",
      tags: ['referrals'],
      access: { public: true },
      rateLimitGroup: 'links',
      params: z.strictObject({ code: z.string().min(1).max(64) }),
      query: z.strictObject({
        listing: z.string().min(1).max(64).optional(),
        ref: z.string().optional(),
        to: z
          .string()
          .min(1)
          .max(253)
          .optional()
          .describe('A host name to hand the visitor off to (e.g. shop.example.com): no scheme, port or path.'),
      }),
      responses: {
        302: { description: 'To the landing page, or to the allowed domain with the hand-off token' },
        400: { description: '`to` names a host that is not allowed (no redirect)' },
      },
      handle: async ({ params, query, req, res }) => {
        if (query.to === undefined) {
          rememberReferrer(req, res, params.code, query.listing);
          return { status: 302, headers: { Location: deps.landingPage } };
        }
        // Checked before any cookie is set: a refused hand-off changes nothing.
        const host = await handoffTarget(deps.db, deps.handoff, query.to);
        const remembered = rememberReferrer(req, res, params.code, query.listing);
        const url = handoffLocation(deps.handoff, host, {
          ref: remembered.ref ?? params.code,
          listingId: remembered.listingId,
        });
        return { status: 302, headers: { Location: url } };
      },
    }),
  ];
}
