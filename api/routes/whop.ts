// Whop over HTTP: a buyer's checkout (their referrer's affiliate code injected server-side), Whop's
// signed webhooks, and what the reconciliation could not explain.
import { z } from 'zod';
import type { DatabasePool } from 'slonik';
import type { CommissionSettings } from '../../domain/commission.ts';
import { reconciliationIssues } from '../../db/whop.ts';
import { WhopRateLimited, WhopRequestFailed, type WhopClient } from '../../platform/whop.ts';
import { createCheckout, handleWhopWebhook } from '../../services/whop.ts';
import { ApiError } from '../errors.ts';
import { forbidden } from '../../services/errors.ts';
import { defineRoute } from '../route.ts';

export type WhopRouteDeps = { db: DatabasePool; whop: WhopClient | null; commission: CommissionSettings };

const checkoutRequest = z.strictObject({
  planId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .describe('The Whop plan id (plan_...).'),
  redirectUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional()
    .describe('Where Whop sends the buyer after paying.'),
});
const checkoutView = z.object({
  checkoutId: z.uuid().describe("Our id for the checkout (also Whop's idempotency key and in its metadata)."),
  whopCheckoutId: z.string().describe("Whop's checkout configuration id (ch_...)."),
  purchaseUrl: z.string().describe('Where the buyer pays.'),
  planId: z.string(),
  edgeId: z.uuid().nullable().describe("The buyer's edge (they are its referee); null: nobody referred them."),
  affiliateCode: z
    .string()
    .nullable()
    .describe("The referrer's Whop affiliate code (their Whop username) the checkout carries; null: none."),
  noCodeReason: z
    .enum(['no_edge', 'edge_held', 'edge_voided', 'not_eligible', 'no_username'])
    .nullable()
    .describe('Why the checkout carries no affiliate code.'),
});

const issueView = z.object({
  kind: z
    .string()
    .describe(
      'unmapped_payment, payment_without_usd_amount, payment_conflict, refund_without_payment, refund_exceeds_payment, refund_conflict, refund_of_unknown_payment, whop_paid_beyond_terms',
    ),
  whopId: z.string().describe('The Whop payment or refund id.'),
  detail: z.record(z.string(), z.unknown()),
  seenAt: z.iso.datetime(),
});

/** Whop's refusal or rate limit, as ours: 503 with Retry-After (rate limit), 502 (Whop failed). */
async function throughWhop<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof WhopRateLimited)
      throw Object.assign(
        new ApiError(503, 'api_error', 'whop_rate_limited', 'Whop is rate limiting us; retry shortly.'),
        { retryAfter: Math.max(1, Math.ceil(err.retryAfterMs / 1000)) },
      );
    if (err instanceof WhopRequestFailed)
      throw new ApiError(502, 'api_error', 'whop_unavailable', 'Whop did not complete the request; retry shortly.');
    throw err;
  }
}

export function whopRoutes(deps: WhopRouteDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/checkouts',
      operationId: 'createCheckout',
      summary: 'A Whop checkout for the signed-in buyer, carrying their referrer’s affiliate code',
      description:
        "Creates the Whop checkout configuration server-side. When the buyer's edge earns now (not held, not voided, eligible in the current phase), it carries the referrer's Whop affiliate code, minted for the referrer the first time one of their referees checks out (once, with an override carrying the edge's terms); otherwise no code. Attribution comes from the graph, not a cookie: a purchase months later from a new device still credits the referrer. Idempotency-Key replays the first answer.",
      tags: ['whop'],
      access: { users: true },
      idempotent: true,
      body: checkoutRequest,
      responses: {
        201: { description: 'Created', schema: checkoutView },
        502: { description: 'Whop did not complete the request' },
      },
      handle: async ({ body, principal }) => {
        if (principal?.type !== 'user') throw forbidden('buyer_only', 'A checkout is created by the buyer.');
        const result = await throughWhop(() => createCheckout(deps, { buyerId: principal.userId, ...body }));
        return { status: 201, body: result };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhooks/whop',
      operationId: 'whopWebhook',
      summary: 'Whop events (Standard Webhooks signature): payments, refunds, disputes',
      description:
        'Checked against webhook-id, webhook-timestamp and webhook-signature over the raw body (5 minutes either way); each event id is handled once (a repeat answers duplicate: true). payment.succeeded records the payment on the whop rail (Whop pays its commission; our payout cycles never do), mapped to the buyer through our metadata, the checkout configuration or the membership; refund.created|updated (succeeded) and dispute.* (lost: a chargeback) take back what they reverse.',
      tags: ['webhooks'],
      access: { public: true },
      signatureHeader: 'webhook-signature',
      body: z.looseObject({ id: z.string(), type: z.string() }),
      responses: {
        200: {
          description: 'Handled',
          schema: z.object({
            received: z.literal(true),
            eventId: z.string(),
            duplicate: z.boolean(),
            outcome: z.string().nullable(),
          }),
        },
      },
      handle: async ({ req }) => {
        const raw = (req as typeof req & { rawBody?: Buffer }).rawBody ?? Buffer.from('');
        const result = await throughWhop(() =>
          handleWhopWebhook(deps, raw, {
            id: req.get('webhook-id'),
            timestamp: req.get('webhook-timestamp'),
            signature: req.get('webhook-signature'),
          }),
        );
        return { status: 200, body: { received: true, ...result } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/whop/reconciliation',
      operationId: 'listWhopReconciliation',
      summary: 'What the Whop reconciliation could not explain',
      description:
        'Payments and refunds Whop reported that map to no buyer or disagree with what we recorded, and Whop payments whose affiliate fee is more than the commission our ledger priced (Whop paid beyond our terms). Newest first.',
      tags: ['whop'],
      access: { roles: ['admin', 'finance'] },
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
      responses: { 200: { description: 'The issues', schema: z.object({ data: z.array(issueView) }) } },
      handle: async ({ query }) => {
        const rows = await reconciliationIssues(deps.db, query.limit);
        return {
          status: 200,
          body: {
            data: rows.map((r) => ({
              kind: r.kind,
              whopId: r.whop_id,
              detail: r.detail,
              seenAt: r.created_at.toISOString(),
            })),
          },
        };
      },
    }),
  ];
}
