import { z } from 'zod';
import { DEFAULT_PERSONAL_CODE_LIMITS, INVITE_FLAVORS } from '../../domain/invite-flavors.ts';
import { isEmail } from '../../domain/email.ts';
import {
  createPersonalCode,
  listInviteAdmissions,
  mintInviteCodes,
  redeemInviteCode,
  seatInvitesOf,
  type InviteDeps,
  type Redemption,
} from '../../services/invite-codes.ts';
import type { InviteCodeRow } from '../../db/invite-codes.ts';
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

const SEAT_DECISIONS = [
  'admit',
  'already_admitted',
  'not_in_beta',
  'no_seat_flavor',
  'code_has_no_seat',
  'allowance_spent',
] as const;

const seatInvites = z.object({
  allowance: z.number().int().describe('SEAT_INVITES_PER_USER, plus what your milestone rungs add.'),
  used: z.number().int(),
  left: z.number().int(),
});

const personalCodeView = inviteCodeView.extend({
  grantsSeat: z
    .boolean()
    .describe(
      'Whether a redemption (in beta, of a waitlisted invitee) admits them at once, while your seat invites last. A code made when they were spent grants credits but no seat.',
    ),
  seatInvites,
  note: z.string().describe('What the code gives, in words.'),
});
const toPersonalCodeView = (code: InviteCodeRow, seats: z.infer<typeof seatInvites>) => ({
  ...toInviteCodeView(code),
  grantsSeat: code.grants_seat,
  seatInvites: seats,
  note: code.grants_seat
    ? `Admits a waitlisted invitee at once while your seat invites last (${seats.left} of ${seats.allowance} left), and grants them ${code.credits} credits.`
    : `Your ${seats.allowance} seat invites are spent: this code grants ${code.credits} credits and a head start, but no seat.`,
});

const seatRedemptionView = redemptionView.extend({
  seat: z.object({
    admitted: z
      .boolean()
      .describe('The redemption admitted you off the waitlist (an invite admission, outside any wave).'),
    decision: z
      .enum(SEAT_DECISIONS)
      .describe(
        "`admit`; else why not: `already_admitted`, `not_in_beta`, `no_seat_flavor` (free and partner invites), `code_has_no_seat` (made when its owner's seats were spent), `allowance_spent` (the owner's seats ran out).",
      ),
  }),
  headStart: z.number().int().describe('Waitlist points the redemption gave you (a line of its own in your score).'),
  userStatus: z.enum(['waitlisted', 'active']).describe('Your status after the redemption.'),
});
const toSeatRedemptionView = (r: Redemption): z.infer<typeof seatRedemptionView> => ({
  ...toRedemptionView(r),
  seat: { admitted: r.seat.admitted, decision: r.seat.decision },
  headStart: r.headStart,
  userStatus: r.user?.status ?? 'waitlisted',
});

const admissionView = z.object({
  userId: z.uuid(),
  email: z.string(),
  code: z.string(),
  flavor: z.enum(INVITE_FLAVORS),
  seatOwnerId: z.uuid().nullable().describe("Whose seat invites it used; null for an admin's code."),
  admittedAt: z.iso.datetime(),
});

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
      description: `For users admitted off the waitlist (else 403 \`not_admitted\`): at most ${limits.perUser} personal codes per user, made ever (then 409 \`personal_code_limit\`), each with at most ${limits.maxUses} uses. In beta a code is a seat: its redemption admits a waitlisted invitee at once while your seat invites last (SEAT_INVITES_PER_USER, plus what your rungs add); a code made when they are spent grants credits and a head start but no seat (\`grantsSeat\`, \`note\`). Your own credits for an invite land when the invitee builds an app.`,
      tags: ['invite codes'],
      access: { users: true },
      idempotent: true,
      body: personalRequest(limits.maxUses),
      responses: { 201: { description: 'Created', schema: personalCodeView } },
      handle: async ({ body, principal }) => {
        const userId = principal!.type === 'user' ? principal!.userId : '';
        const code = await createPersonalCode(deps, { userId }, body);
        return { status: 201, body: toPersonalCodeView(code, await seatInvitesOf(deps, userId)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/invite-codes/seats',
      operationId: 'getMySeatInvites',
      summary: 'Your seat invites: how many you have, used and left',
      tags: ['invite codes'],
      access: { users: true },
      responses: { 200: { description: 'Your seat invites', schema: seatInvites } },
      handle: async ({ principal }) => {
        const userId = principal!.type === 'user' ? principal!.userId : '';
        return { status: 200, body: await seatInvitesOf(deps, userId) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/invite-admissions',
      operationId: 'listInviteAdmissions',
      summary: 'Users admitted by an invite (a seat), newest first',
      description:
        "Invite admissions are outside every wave's cap; each names its code and whose seat invites it used.",
      tags: ['invite codes'],
      access: { roles: ['admin'] },
      query: z.strictObject({
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.uuid().optional().describe('`nextCursor` of the previous page.'),
      }),
      responses: {
        200: {
          description: 'A page of invite admissions',
          schema: z.object({ data: z.array(admissionView), nextCursor: z.uuid().nullable() }),
        },
      },
      handle: async ({ query }) => {
        const page = await listInviteAdmissions(deps, query);
        return {
          status: 200,
          body: {
            data: page.data.map((a) => ({
              userId: a.user_id,
              email: a.email,
              code: a.code,
              flavor: a.flavor,
              seatOwnerId: a.seat_owner_id,
              admittedAt: a.admitted_at.toISOString(),
            })),
            nextCursor: page.nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/invite-codes/{code}/redeem',
      operationId: 'redeemInviteCode',
      summary: 'Redeem an invite code',
      description:
        "Grants the code's credits and a head start (waitlist points) to you, writes the edge from the code's owner (or records that you were already attributed), and for a partner invite upgrades your tenant. In beta a beta or OG invite is a seat: it admits you off the waitlist at once (an invite admission, outside any wave), within its owner's seat invites (an admin's code admits regardless); `seat` says whether it did and why not. The code's owner gets their credits when you build an app. A person redeems one invite, ever (partner invites aside). Errors: `code_not_found` (404), `code_expired` (410), `code_exhausted` (409), `code_already_redeemed` (409), `invite_already_redeemed` (409: you redeemed another invite), `self_referral` (400).",
      tags: ['invite codes'],
      access: { users: true },
      idempotent: true,
      params: codeParam,
      responses: {
        201: { description: 'Redeemed', schema: seatRedemptionView },
        200: {
          description: 'A partner invite for a tenant that is already a partner: nothing changed',
          schema: seatRedemptionView,
        },
      },
      handle: async ({ params, principal }) => {
        const redemption = await redeemInviteCode(deps, {
          code: params.code,
          userId: principal!.type === 'user' ? principal!.userId : '',
        });
        return { status: redemption.status === 'redeemed' ? 201 : 200, body: toSeatRedemptionView(redemption) };
      },
    }),
  ];
}
