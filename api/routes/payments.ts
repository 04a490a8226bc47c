import { z } from 'zod';
import { edgeWorkflowId } from '../../contracts/edge-lifecycle.ts';
import {
  getPayment,
  recordPayment,
  recordRefund,
  recordVerdict,
  type PaymentDeps,
  type PaymentView,
} from '../../services/payments.ts';
import { edgeVerdictsExplained } from '../../services/edge-verdicts.ts';
import { FRAUD_STAGES } from '../../domain/fraud/rule.ts';
import { principalLabel } from '../auth.ts';
import { pastDateInput } from '../dates.ts';
import { defineRoute } from '../route.ts';

const businessId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
const cents = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const paymentRequest = z.strictObject({
  paymentId: businessId.describe(
    'Your id for the payment (e.g. the Stripe charge or invoice id): a repeat with the same id is the same payment.',
  ),
  userId: z.uuid().describe('The user who paid (the referee of an edge, if anyone referred them).'),
  amountCents: cents,
  currency: z
    .enum(['USD', 'usd'])
    .default('USD')
    .transform(() => 'USD' as const)
    .describe('ISO 4217, either case (Stripe sends `usd`); stored upper-case.'),
  paidAt: pastDateInput.optional().describe('When it was paid; now if omitted.'),
  paymentMethodFingerprint: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      "The payment instrument's fingerprint, opaque (e.g. Stripe's card fingerprint): a fraud signal (self-purchase with the referrer's card).",
    ),
});
const refundRequest = z.strictObject({
  refundId: businessId.describe('Your id for the refund: a repeat with the same id is the same refund.'),
  paymentId: businessId,
  amountCents: cents.describe('Part or all of what is left of the payment.'),
  refundedAt: pastDateInput.optional(),
  chargeback: z
    .boolean()
    .optional()
    .describe(
      'True for a chargeback (a dispute the payer won): it takes back commission like a refund. False if omitted.',
    ),
});
const verdictRequest = z.strictObject({
  verdictId: businessId,
  verdict: z
    .enum(['hold', 'clear', 'void'])
    .describe(
      'hold: the edge pays nothing until cleared; clear: lift a hold; void: take back everything the edge earned and end it.',
    ),
  reason: z.string().min(1).max(500),
});

const commissionView = z.object({
  status: z
    .enum(['pending', 'earned', 'not_eligible', 'forfeited'])
    .describe(
      "pending until the edge's workflow has priced the payment; forfeited: a beta-seeded commission taken back at its retention gate",
    ),
  reason: z
    .string()
    .nullable()
    .describe(
      'Why it earned nothing: no_edge, beta_phase, outside_window, self_purchase, partner_inactive, edge_expired, edge_voided, edge_closed, zero_commission; why it was forfeited: referee_cancelled, referee_refunded, referee_charged_back.',
    ),
  cashCents: z.number().int().describe('Commission in cents this payment earned, net of clawbacks, from the ledger.'),
  credits: z.number().int(),
});
const paymentView = z.object({
  paymentId: z.string(),
  userId: z.uuid(),
  amountCents: z.number().int(),
  currency: z.literal('USD'),
  paidAt: z.iso.datetime(),
  paymentMethodFingerprint: z.string().nullable(),
  refundedCents: z.number().int(),
  edge: z
    .object({ id: z.uuid(), workflowId: z.string() })
    .nullable()
    .describe('The edge the payment reached; null: the payer was referred by nobody (recorded, earns nothing).'),
  commission: commissionView,
});
const toPaymentView = (v: PaymentView): z.infer<typeof paymentView> => ({
  paymentId: v.payment.id,
  userId: v.payment.user_id,
  amountCents: v.payment.amount_cents,
  currency: v.payment.currency,
  paidAt: v.payment.paid_at.toISOString(),
  paymentMethodFingerprint: v.payment.payment_method_fingerprint,
  refundedCents: v.refundedCents,
  edge: v.payment.edge_id ? { id: v.payment.edge_id, workflowId: edgeWorkflowId(v.payment.user_id) } : null,
  commission: v.commission,
});
const refundView = z.object({
  refundId: z.string(),
  paymentId: z.string(),
  amountCents: z.number().int(),
  refundedAt: z.iso.datetime(),
  chargeback: z.boolean(),
  payment: paymentView,
});
const verdictView = z.object({
  verdictId: z.string(),
  edgeId: z.uuid(),
  verdict: z.enum(['hold', 'clear', 'void']),
  reason: z.string(),
  decidedBy: z.string(),
  createdAt: z.iso.datetime(),
});
const evidence = z.record(z.string(), z.unknown());
const edgeVerdictsView = z.object({
  edgeId: z.uuid(),
  verdicts: z
    .array(
      verdictView.extend({
        rule: z.string().nullable().describe('The fraud rule(s) that raised it; null for an admin verdict.'),
        score: z.number().int().nullable(),
        evidence: evidence.nullable(),
        resolves: z.string().nullable().describe('The hold a clear or void resolves.'),
      }),
    )
    .describe('Newest first.'),
  ruleVerdicts: z
    .array(
      z.object({
        stage: z.enum(FRAUD_STAGES),
        subject: z.string().describe("The payment id at payment, '' otherwise."),
        rule: z.string(),
        decision: z.enum(['allow', 'score', 'hold', 'block']),
        score: z.number().int(),
        reason: z.string(),
        evidence,
        createdAt: z.iso.datetime(),
      }),
    )
    .describe('What each fraud rule said at each stage the edge was screened, oldest first.'),
});

export function paymentRoutes(deps: PaymentDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/payments',
      operationId: 'recordPayment',
      summary: 'A user paid',
      description:
        "Records the payment and tells the payer's edge workflow, which prices it (phase and partner rates as of now) and posts the commission to the ledger. Idempotent by paymentId: a repeat answers 200 with the first record; the same id with other details is a 409.",
      tags: ['events'],
      access: { roles: ['server', 'admin'] },
      idempotent: true,
      body: paymentRequest,
      responses: {
        201: { description: 'Recorded', schema: paymentView },
        200: { description: 'Already recorded (a repeat)', schema: paymentView },
      },
      handle: async ({ body }) => {
        const { view, created } = await recordPayment(deps, body);
        return { status: created ? 201 : 200, body: toPaymentView(view) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payments/{paymentId}',
      operationId: 'getPayment',
      summary: 'A payment, what has been refunded and what it earned',
      tags: ['events'],
      access: { roles: ['server', 'admin', 'finance'] },
      params: z.strictObject({ paymentId: businessId }),
      responses: { 200: { description: 'The payment', schema: paymentView } },
      handle: async ({ params }) => ({ status: 200, body: toPaymentView(await getPayment(deps, params.paymentId)) }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/refunds',
      operationId: 'recordRefund',
      summary: 'A payment was refunded, in part or in full',
      description:
        "Claws back the commission the refunded part earned, also after payout (the partner's payable balance may go negative). Refunds never add up to more than the payment. Idempotent by refundId.",
      tags: ['events'],
      access: { roles: ['server', 'admin'] },
      idempotent: true,
      body: refundRequest,
      responses: {
        201: { description: 'Recorded', schema: refundView },
        200: { description: 'Already recorded (a repeat)', schema: refundView },
      },
      handle: async ({ body }) => {
        const { refund, payment, created } = await recordRefund(deps, body);
        return {
          status: created ? 201 : 200,
          body: {
            refundId: refund.id,
            paymentId: refund.payment_id,
            amountCents: refund.amount_cents,
            refundedAt: refund.refunded_at.toISOString(),
            chargeback: refund.chargeback,
            payment: toPaymentView(payment),
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/edges/{edgeId}/verdicts',
      operationId: 'listEdgeVerdicts',
      summary: "An edge's verdicts and every fraud rule's verdict on it, with reasons and evidence",
      tags: ['edges'],
      access: { roles: ['admin'] },
      params: z.strictObject({ edgeId: z.uuid() }),
      responses: { 200: { description: 'The verdicts', schema: edgeVerdictsView } },
      handle: async ({ params }) => {
        const { verdicts, ruleVerdicts } = await edgeVerdictsExplained(deps, params.edgeId);
        return {
          status: 200,
          body: {
            edgeId: params.edgeId,
            verdicts: verdicts.map((v) => ({
              verdictId: v.id,
              edgeId: v.edge_id,
              verdict: v.verdict,
              reason: v.reason,
              decidedBy: v.decided_by,
              createdAt: v.created_at.toISOString(),
              rule: v.rule,
              score: v.score,
              evidence: v.evidence,
              resolves: v.resolves,
            })),
            ruleVerdicts: ruleVerdicts.map((r) => ({
              stage: r.stage,
              subject: r.subject,
              rule: r.rule,
              decision: r.decision,
              score: r.score,
              reason: r.reason,
              evidence: r.evidence,
              createdAt: r.created_at.toISOString(),
            })),
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/admin/edges/{edgeId}/verdicts',
      operationId: 'recordVerdict',
      summary: 'A fraud verdict on an edge: hold, clear or void',
      tags: ['edges'],
      access: { roles: ['admin'] },
      params: z.strictObject({ edgeId: z.uuid() }),
      idempotent: true,
      body: verdictRequest,
      responses: {
        201: { description: "Recorded and on its way to the edge's workflow", schema: verdictView },
        200: { description: 'Already recorded (a repeat)', schema: verdictView },
      },
      handle: async ({ params, body, principal }) => {
        const { verdict, created } = await recordVerdict(deps, {
          ...body,
          edgeId: params.edgeId,
          decidedBy: principalLabel(principal!),
        });
        return {
          status: created ? 201 : 200,
          body: {
            verdictId: verdict.id,
            edgeId: verdict.edge_id,
            verdict: verdict.verdict,
            reason: verdict.reason,
            decidedBy: verdict.decided_by,
            createdAt: verdict.created_at.toISOString(),
          },
        };
      },
    }),
  ];
}
