import { z } from 'zod';
import { MAX_BPS, MAX_RECURRING_MONTHS, PAYOUT_FREQUENCIES, PAYOUT_METHODS } from '../../domain/partner-settings.ts';
import { approve, changePartner, createPartner, getPartner, type PartnerDeps } from '../../services/partners.ts';
import { notFound } from '../../services/errors.ts';
import { canSeeTenant, principalLabel } from '../auth.ts';
import { defineRoute } from '../route.ts';
import { partnerView, toPartnerView } from '../views.ts';

const bps = z.number().int().min(0).max(MAX_BPS);
const terms = {
  salesCommissionBps: bps.optional(),
  creditCommissionBps: bps.optional(),
  recurring: z.boolean().optional(),
  recurringMonths: z.number().int().min(1).max(MAX_RECURRING_MONTHS).optional(),
  payoutMethod: z.enum(PAYOUT_METHODS).optional(),
  payoutThresholdCents: z.number().int().min(0).max(100_000_000).optional(),
  payoutFrequency: z.enum(PAYOUT_FREQUENCIES).optional(),
};
const createRequest = z.strictObject({ tenantId: z.uuid(), ...terms });
const updateRequest = z.strictObject({
  ...terms,
  stripeAccountId: z
    .string()
    .regex(/^acct_[A-Za-z0-9]+$/)
    .nullable()
    .optional(),
  status: z.enum(['active', 'inactive']).optional(),
});
const idParam = z.strictObject({ id: z.uuid() });

export function partnerRoutes(deps: PartnerDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/admin/partners',
      operationId: 'createPartner',
      summary: 'Make a tenant a partner, with default terms unless given',
      description:
        'Cash and credit rates together may be at most MAX_TOTAL_REWARD_BPS (50% by default): more is a 400 `reward_rates_over_cap` naming both, and nothing is written.',
      tags: ['partners'],
      access: { roles: ['admin'] },
      idempotent: true,
      body: createRequest,
      responses: { 201: { description: 'Created (not yet approved)', schema: partnerView } },
      handle: async ({ body }) => ({ status: 201, body: toPartnerView(await createPartner(deps, body)) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/admin/partners/{id}',
      operationId: 'updatePartner',
      summary: "Change a partner's terms, payout settings or status",
      description:
        'A change of either rate that would make cash and credits together more than MAX_TOTAL_REWARD_BPS is a 400 `reward_rates_over_cap` naming both, and changes nothing.',
      tags: ['partners'],
      access: { roles: ['admin'] },
      params: idParam,
      body: updateRequest,
      responses: { 200: { description: 'Updated', schema: partnerView } },
      handle: async ({ params, body }) => ({
        status: 200,
        body: toPartnerView(await changePartner(deps, params.id, body)),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/admin/partners/{id}/approve',
      operationId: 'approvePartner',
      summary: 'Approve a partner: from now on its codes validate and track',
      description: 'Records the approver and time once; approving again keeps the first record.',
      tags: ['partners'],
      access: { roles: ['admin'] },
      params: idParam,
      responses: { 200: { description: 'Approved', schema: partnerView } },
      handle: async ({ params, principal }) => ({
        status: 200,
        body: toPartnerView(await approve(deps, params.id, principalLabel(principal))),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/partners/{id}',
      operationId: 'getPartner',
      summary: "A partner's settings and running stats",
      description: 'For that partner (its key, or a user of its tenant) and admins; anyone else gets 404.',
      tags: ['partners'],
      access: { roles: ['admin', 'partner'], users: true },
      params: idParam,
      responses: { 200: { description: 'The partner', schema: partnerView } },
      handle: async ({ params, principal }) => {
        if (!canSeeTenant(principal, params.id)) throw notFound('partner_not_found', `No partner ${params.id}.`);
        return { status: 200, body: toPartnerView(await getPartner(deps, params.id)) };
      },
    }),
  ];
}
