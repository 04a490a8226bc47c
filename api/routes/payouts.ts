import type { Request } from 'express';
import { z } from 'zod';
import { PAYOUT_FREQUENCIES } from '../../domain/partner-settings.ts';
import { getCycle, markPaid, previewCycle, startCycle, type PayoutServiceDeps } from '../../services/payouts.ts';
import { handleStripeWebhook, type WebhookDeps } from '../../services/stripe-webhooks.ts';
import { principalLabel } from '../auth.ts';
import { defineRoute } from '../route.ts';

const cycleRequest = z.strictObject({
  dryRun: z
    .boolean()
    .default(false)
    .describe('Preview: who would be paid how much, who rolls forward or is skipped and why. Nothing moves.'),
  frequencies: z
    .array(z.enum(PAYOUT_FREQUENCIES))
    .min(1)
    .optional()
    .describe('Only partners paid at these frequencies (default: all, each once per its period).'),
});
const previewItem = z.object({
  tenantId: z.uuid(),
  period: z.string(),
  outcome: z.enum(['would_pay', 'in_progress', 'rolled_forward', 'skipped']),
  rail: z.enum(['stripe', 'manual']).nullable(),
  amountCents: z.number().int(),
  reason: z.string().nullable(),
});
const previewView = z.object({
  dryRun: z.literal(true),
  at: z.iso.datetime(),
  frequencies: z.array(z.enum(PAYOUT_FREQUENCIES)),
  totals: z.object({
    partners: z.number().int(),
    wouldPay: z.number().int(),
    wouldPayCents: z.number().int(),
    rolledForward: z.number().int(),
    skipped: z.number().int(),
    inProgress: z.number().int(),
  }),
  items: z.array(previewItem),
});
const startedView = z.object({
  dryRun: z.literal(false),
  cycleId: z.string(),
  workflowId: z.string(),
  status: z.literal('started'),
});
const cycleView = z.object({
  id: z.string(),
  status: z.enum(['running', 'completed', 'failed']),
  trigger: z.enum(['schedule', 'manual']),
  requestedBy: z.string(),
  frequencies: z.array(z.enum(PAYOUT_FREQUENCIES)),
  startedAt: z.iso.datetime(),
  completedAt: z.iso.datetime().nullable(),
  totals: z
    .array(z.object({ outcome: z.string(), partners: z.number().int(), amountCents: z.number().int() }))
    .describe('Partners and cents per outcome so far.'),
  items: z
    .array(
      z.object({
        tenantId: z.uuid(),
        outcome: z.string(),
        reason: z.string().nullable(),
        amountCents: z.number().int(),
        payoutId: z.string().nullable(),
        payoutStatus: z.string().nullable(),
        stripeTransferId: z.string().nullable(),
      }),
    )
    .describe('The outcome per partner, by tenant id; page with `cursor`.'),
  nextCursor: z.string().nullable(),
});
const payoutView = z.object({
  id: z.string(),
  cycleId: z.string(),
  tenantId: z.uuid(),
  period: z.string(),
  amountCents: z.number().int(),
  method: z.string(),
  status: z.string(),
  stripeTransferId: z.string().nullable(),
  reference: z.string().nullable(),
  markedPaidBy: z.string().nullable(),
  paidAt: z.iso.datetime().nullable(),
});

export function payoutRoutes(deps: PayoutServiceDeps & WebhookDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/payout-cycles',
      operationId: 'startPayoutCycle',
      summary: 'Preview a payout cycle, or start one by hand',
      description:
        'With dryRun, answers the preview at once. Otherwise starts a cycle (202) that pays every approved partner due this period; while a cycle runs a second is refused with 409 cycle_running.',
      tags: ['payouts'],
      access: { roles: ['finance'] },
      idempotent: true,
      body: cycleRequest,
      responses: {
        200: { description: 'The preview (dryRun)', schema: previewView },
        202: { description: 'Started', schema: startedView },
      },
      handle: async ({ body, principal }) => {
        if (body.dryRun)
          return {
            status: 200,
            body: { dryRun: true, ...(await previewCycle(deps, { frequencies: body.frequencies })) },
          };
        const started = await startCycle(deps, {
          requestedBy: principalLabel(principal),
          frequencies: body.frequencies,
        });
        return { status: 202, body: { dryRun: false, ...started, status: 'started' } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payout-cycles/{id}',
      operationId: 'getPayoutCycle',
      summary: 'A payout cycle: progress and the outcome per partner',
      tags: ['payouts'],
      access: { roles: ['finance', 'admin'] },
      params: z.strictObject({ id: z.string().min(1).max(200) }),
      query: z.strictObject({
        cursor: z.uuid().optional(),
        limit: z.coerce.number().int().min(1).max(1_000).default(100),
      }),
      responses: { 200: { description: 'The cycle', schema: cycleView } },
      handle: async ({ params, query }) => {
        const { cycle, totals, items, nextCursor } = await getCycle(deps, params.id, {
          after: query.cursor,
          limit: query.limit,
        });
        return {
          status: 200,
          body: {
            id: cycle.id,
            status: cycle.status,
            trigger: cycle.trigger,
            requestedBy: cycle.requested_by,
            frequencies: cycle.frequencies,
            startedAt: cycle.started_at.toISOString(),
            completedAt: cycle.completed_at?.toISOString() ?? null,
            totals: totals.map((t) => ({ outcome: t.outcome, partners: t.partners, amountCents: t.amount_cents })),
            items: items.map((i) => ({
              tenantId: i.tenant_id,
              outcome: i.outcome,
              reason: i.reason,
              amountCents: i.amount_cents,
              payoutId: i.payout_id,
              payoutStatus: i.payout_status,
              stripeTransferId: i.stripe_transfer_id,
            })),
            nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payouts/{id}/mark-paid',
      operationId: 'markPayoutPaid',
      summary: 'Finance paid a manual payout (PayPal, bank transfer, by hand)',
      description:
        'Moves it payable -> paid in the ledger. Repeating it with the same reference answers the same; another reference after it was paid is a 409.',
      tags: ['payouts'],
      access: { roles: ['finance'] },
      params: z.strictObject({ id: z.string().min(1).max(200) }),
      body: z.strictObject({
        reference: z
          .string()
          .min(1)
          .max(200)
          .describe("The payment's reference (PayPal transaction, bank reference, ...)"),
      }),
      responses: { 200: { description: 'Paid', schema: payoutView } },
      handle: async ({ params, body, principal }) => {
        const p = await markPaid(deps, {
          payoutId: params.id,
          reference: body.reference,
          markedBy: principalLabel(principal),
        });
        return {
          status: 200,
          body: {
            id: p.id,
            cycleId: p.cycle_id,
            tenantId: p.tenant_id,
            period: p.period,
            amountCents: p.amount_cents,
            method: p.method,
            status: p.status,
            stripeTransferId: p.stripe_transfer_id,
            reference: p.reference,
            markedPaidBy: p.marked_paid_by,
            paidAt: p.paid_at?.toISOString() ?? null,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/stripe',
      operationId: 'stripeWebhook',
      summary: 'Stripe events (signed): keeps Connect account status current',
      description:
        'Checked against the Stripe-Signature header (a signature older than 5 minutes or more than 5 minutes in the future is refused, and so is an event created more than 5 minutes in the future); each event id is handled once (a repeat answers duplicate: true); an account.updated older (by created, then id) than the one the status came from is handled and changes nothing.',
      tags: ['webhooks'],
      access: { public: true },
      signatureHeader: 'Stripe-Signature',
      body: z.looseObject({ id: z.string(), type: z.string() }),
      responses: {
        200: {
          description: 'Handled',
          schema: z.object({ received: z.literal(true), eventId: z.string(), duplicate: z.boolean() }),
        },
      },
      handle: async ({ req }) => {
        const raw = (req as Request & { rawBody?: Buffer }).rawBody ?? Buffer.from('');
        const result = await handleStripeWebhook(deps, raw, req.get('stripe-signature'));
        return { status: 200, body: { received: true, ...result } };
      },
    }),
  ];
}
