import { z } from 'zod';
import { DEFAULT_PERSONAL_CODE_LIMITS, INVITE_FLAVORS } from '../../domain/invite-flavors.ts';
import { isEmail } from '../../domain/email.ts';
import { createPersonalCode, mintInviteCodes, redeemInviteCode, type InviteDeps } from '../../services/invite-codes.ts';
import { principalLabel } from '../auth.ts';
import { futureDateInput } from '../dates.ts';
import { defineRoute } from '../route.ts';
import { inviteCodeView, redemptionView, toInviteCodeView, toRedemptionView } from '../views.ts';

const MAX_MINT = 1_000;

const mintRequest = z.strictObject({
  flavor: z.enum(INVITE_FLAVORS),
  count: z
    .number()
    .int()
    .min(1)
    .max(MAX_MINT)
    .optional()
    .describe('How many codes; one per address when `emails` is given.'),
  maxUses: z.number().int().min(1).max(1_000_000),
  credits: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .optional()
    .describe("Credits each redemption grants; the flavor's default when left out."),
  expiresAt: futureDateInput.optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  ownerUserId: z.uuid().optional().describe('The referrer redemptions attribute to.'),
  emails: z
    .array(z.string().refine(isEmail, 'must be an email address'))
    .min(1)
    .max(MAX_MINT)
    .optional()
    .describe('Mail one code to each address.'),
});

const personalRequest = (maxUses: number) =>
  z.strictObject({
    maxUses: z.number().int().min(1).max(maxUses).describe('At most PERSONAL_CODE_MAX_USES.'),
    credits: z.number().int().min(0).optional().describe("Capped at the flavor's default grant."),
    expiresAt: futureDateInput.optional(),
  });

const codeParam = z.strictObject({ code: z.string().min(1).max(64) });

export function inviteCodeRoutes(deps: InviteDeps) {
  const limits = deps.personalCodes ?? DEFAULT_PERSONAL_CODE_LIMITS;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/admin/invite-codes',
      operationId: 'mintInviteCodes',
      summary: 'Mint invite codes in bulk, and mail them',
      description: 'Codes and their mails are written in one transaction; the worker sends the mails from the outbox.',
      tags: ['invite codes'],
      access: { roles: ['admin'] },
      idempotent: true,
      body: mintRequest,
      responses: { 201: { description: 'Minted', schema: z.object({ data: z.array(inviteCodeView) }) } },
      handle: async ({ body, principal }) => {
        const codes = await mintInviteCodes(deps, body, principalLabel(principal));
        return { status: 201, body: { data: codes.map(toInviteCodeView) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/invite-codes',
      operationId: 'createPersonalInviteCode',
      summary: 'Make a personal invite code (you are the referrer)',
      description: `For users admitted off the waitlist (else 403 \`not_admitted\`): at most ${limits.perUser} personal codes per user, made ever (then 409 \`personal_code_limit\`), each with at most ${limits.maxUses} uses. What an invite earns you comes through its edge, once the invitee builds an app.`,
      tags: ['invite codes'],
      access: { users: true },
      idempotent: true,
      body: personalRequest(limits.maxUses),
      responses: { 201: { description: 'Created', schema: inviteCodeView } },
      handle: async ({ body, principal }) => {
        const code = await createPersonalCode(
          deps,
          { userId: principal!.type === 'user' ? principal!.userId : '' },
          body,
        );
        return { status: 201, body: toInviteCodeView(code) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/invite-codes/{code}/redeem',
      operationId: 'redeemInviteCode',
      summary: 'Redeem an invite code',
      description:
        "Grants the code's credits to you, writes the edge from the code's owner (or records that you were already attributed), and for a partner invite upgrades your tenant. A person redeems one invite, ever (partner invites aside). Errors: `code_not_found` (404), `code_expired` (410), `code_exhausted` (409), `code_already_redeemed` (409), `invite_already_redeemed` (409: you redeemed another invite), `self_referral` (400).",
      tags: ['invite codes'],
      access: { users: true },
      idempotent: true,
      params: codeParam,
      responses: {
        201: { description: 'Redeemed', schema: redemptionView },
        200: {
          description: 'A partner invite for a tenant that is already a partner: nothing changed',
          schema: redemptionView,
        },
      },
      handle: async ({ params, principal }) => {
        const redemption = await redeemInviteCode(deps, {
          code: params.code,
          userId: principal!.type === 'user' ? principal!.userId : '',
        });
        return { status: redemption.status === 'redeemed' ? 201 : 200, body: toRedemptionView(redemption) };
      },
    }),
  ];
}
