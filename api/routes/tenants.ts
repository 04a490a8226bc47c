import { z } from 'zod';
import { isEmail } from '../../domain/email.ts';
import { notFound } from '../../services/errors.ts';
import { createSubAccount, subAccountsOf, type TenantDeps } from '../../services/tenants.ts';
import type { SubAccountRow } from '../../db/tenants.ts';
import { canSeeTenant } from '../auth.ts';
import { defineRoute } from '../route.ts';

const subAccountView = z.object({
  id: z.uuid(),
  parentTenantId: z.uuid().describe('The agency.'),
  name: z.string(),
  owner: z.object({
    userId: z.uuid(),
    email: z.string(),
    referralCode: z.string().describe("The owner's referral code: referrals through it credit the agency's partner."),
  }),
  createdAt: z.iso.datetime(),
});
const toSubAccountView = (r: SubAccountRow): z.infer<typeof subAccountView> => ({
  id: r.id,
  parentTenantId: r.parent_tenant_id,
  name: r.name,
  owner: { userId: r.owner_user_id, email: r.owner_email, referralCode: r.owner_referral_code },
  createdAt: r.created_at.toISOString(),
});

const idParam = z.strictObject({ id: z.uuid() });
const access = { users: true, roles: ['admin', 'partner'] } as const;
const seeOrHide = (principal: Parameters<typeof canSeeTenant>[0], id: string) => {
  if (!canSeeTenant(principal, id)) throw notFound('tenant_not_found', `No tenant ${id}.`);
};

export function tenantRoutes(deps: TenantDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/tenants/{id}/sub-accounts',
      operationId: 'createSubAccount',
      summary: 'Add a sub-account to an agency (a tenant whose parent is the agency), with its owner user',
      description:
        "For the agency's users, its partner key, and admins; anyone else gets 404. A tenant that is not a partner runs at most SUB_ACCOUNT_CAP sub-accounts (409 `sub_account_cap_reached` past it, also under racing requests); a partner tenant (a partner invite, or an approved active partner) has no cap. A sub-account has no sub-accounts of its own (409 `sub_account_of_sub_account`). The owner's email must be new (409 `email_taken`). Referrals by the sub-account's users credit the agency's partner.",
      tags: ['tenants'],
      access,
      idempotent: true,
      params: idParam,
      body: z.strictObject({
        name: z
          .string()
          .trim()
          .min(1)
          .max(200)
          .regex(/^[^\u0000]*[^\s\u0000][^\u0000]*$/)
          .describe("The sub-account's name (trimmed; not blank)."),
        ownerEmail: z
          .string()
          .max(254)
          .refine(isEmail, 'must be an email address')
          .describe("The sub-account owner's email: a new user is made for them."),
      }),
      responses: { 201: { description: 'Created', schema: subAccountView } },
      handle: async ({ params, body, principal }) => {
        seeOrHide(principal, params.id);
        const row = await createSubAccount(deps, { agencyId: params.id, ...body });
        return { status: 201, body: toSubAccountView(row) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/tenants/{id}/sub-accounts',
      operationId: 'listSubAccounts',
      summary: "An agency's sub-accounts, oldest first, and its cap",
      description: "For the agency's users, its partner key, and admins; anyone else gets 404.",
      tags: ['tenants'],
      access,
      params: idParam,
      query: z.strictObject({
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.string().max(500).optional(),
      }),
      responses: {
        200: {
          description: 'A page of sub-accounts',
          schema: z.object({
            data: z.array(subAccountView),
            nextCursor: z.string().nullable(),
            cap: z.number().int().nullable().describe('Sub-accounts this tenant may run; null: no cap (a partner).'),
          }),
        },
      },
      handle: async ({ params, query, principal }) => {
        seeOrHide(principal, params.id);
        const page = await subAccountsOf(deps, params.id, query);
        return {
          status: 200,
          body: { data: page.data.map(toSubAccountView), nextCursor: page.nextCursor, cap: page.cap },
        };
      },
    }),
  ];
}
