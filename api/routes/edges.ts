import { z } from 'zod';
import { COMMISSION_STATUSES } from '../../db/edge-status.ts';
import { EDGE_KINDS, EDGE_SOURCES, PROGRAM_PHASES } from '../../domain/edge.ts';
import { LIFECYCLE_STATES } from '../../domain/lifecycle.ts';
import { edgeStatus, type EdgeStatus, type EdgeStatusDeps } from '../../services/edge-status.ts';
import { canSeeTenant } from '../auth.ts';
import { defineRoute } from '../route.ts';

const iso = z.iso.datetime();
const when = (d: Date | null) => d?.toISOString() ?? null;

const edgeStatusView = z.object({
  id: z.uuid(),
  referrerId: z.uuid(),
  refereeId: z.uuid(),
  source: z.enum(EDGE_SOURCES),
  kind: z.enum(EDGE_KINDS),
  phaseAtWrite: z.enum(PROGRAM_PHASES),
  code: z.string().nullable(),
  createdAt: iso,
  vestedAt: iso.nullable(),
  expiredAt: iso.nullable(),
  completedAt: iso.nullable(),
  voidedAt: iso.nullable(),
  workflow: z.object({
    source: z
      .enum(['workflow', 'database'])
      .describe(
        "`workflow`: the edge workflow's live answer. `database`: derived from PostgreSQL because the workflow could not answer (see `unavailable`); it cannot tell an earning edge whose commission window has closed, nor that window's end.",
      ),
    unavailable: z
      .enum(['not_started', 'unreachable'])
      .nullable()
      .describe(
        '`not_started`: the outbox relay has not started the workflow yet; `unreachable`: Temporal did not answer in time.',
      ),
    workflowId: z.string(),
    state: z.enum(LIFECYCLE_STATES),
    waitingFor: z.enum(['activation', 'first_payment', 'payments', 'clearance', 'refund_window']).nullable(),
    activationDeadline: iso.describe('The edge expires unless its referee activates by then.'),
    activatedAt: iso.nullable(),
    commissionWindowEndsAt: iso.nullable().describe('While earning: payments after this earn nothing.'),
    hold: z.object({ reason: z.string(), since: iso }).nullable(),
  }),
  money: z
    .object({
      earnedCents: z
        .number()
        .int()
        .describe('Cash commission this edge earned, net of clawbacks: pending plus payable.'),
      pendingCents: z.number().int().describe('Inside the holding period.'),
      payableCents: z
        .number()
        .int()
        .describe(
          'Released (negative after a clawback of released commission); payouts are per partner, so some may since have been paid.',
        ),
      credits: z.number().int(),
    })
    .describe(
      "From the ledger: the entries of the transactions that name this edge, on the referrer's tenant's earnings and the referrer's credits.",
    ),
  verdicts: z
    .array(
      z.object({
        id: z.string(),
        verdict: z.enum(['hold', 'clear', 'void']),
        reason: z.string(),
        decidedBy: z.string(),
        createdAt: iso,
      }),
    )
    .describe('Newest first.'),
  payments: z.object({
    total: z.number().int(),
    pending: z.number().int().describe("Not priced yet by the edge's workflow."),
    earned: z.number().int(),
    notEligible: z.number().int(),
    forfeited: z
      .number()
      .int()
      .describe(
        'Beta-seeded commissions taken back at their retention gate (the referee cancelled, refunded or charged back).',
      ),
    recent: z
      .array(
        z.object({
          paymentId: z.string(),
          amountCents: z.number().int(),
          paidAt: iso,
          commissionStatus: z.enum(COMMISSION_STATUSES),
          commissionReason: z
            .string()
            .nullable()
            .describe(
              'Why it earned nothing, or why it was forfeited (referee_cancelled, referee_refunded, referee_charged_back).',
            ),
        }),
      )
      .describe('The latest few, newest first.'),
  }),
});

const toEdgeStatusView = ({
  edge,
  workflow,
  money,
  verdicts,
  payments,
}: EdgeStatus): z.infer<typeof edgeStatusView> => ({
  id: edge.id,
  referrerId: edge.referrer_id,
  refereeId: edge.referee_id,
  source: edge.source,
  kind: edge.kind,
  phaseAtWrite: edge.phase_at_write,
  code: edge.code,
  createdAt: edge.created_at.toISOString(),
  vestedAt: when(edge.vested_at),
  expiredAt: when(edge.expired_at),
  completedAt: when(edge.completed_at),
  voidedAt: when(edge.voided_at),
  workflow,
  money,
  verdicts: verdicts.map((v) => ({
    id: v.id,
    verdict: v.verdict,
    reason: v.reason,
    decidedBy: v.decided_by,
    createdAt: v.created_at.toISOString(),
  })),
  payments: {
    total: Object.values(payments.counts).reduce((a, b) => a + b, 0),
    pending: payments.counts.pending ?? 0,
    earned: payments.counts.earned ?? 0,
    notEligible: payments.counts.not_eligible ?? 0,
    forfeited: payments.counts.forfeited ?? 0,
    recent: payments.recent.map((p) => ({
      paymentId: p.id,
      amountCents: p.amount_cents,
      paidAt: p.paid_at.toISOString(),
      commissionStatus: p.commission_status,
      commissionReason: p.commission_reason,
    })),
  },
});

export function edgeRoutes(deps: EdgeStatusDeps) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/edges/{id}',
      operationId: 'getEdge',
      summary: 'An edge: where its workflow is, what it earned, its verdicts and payments',
      description: "For admins, and for the referrer's tenant (its users, or its partner key); anyone else gets 404.",
      tags: ['edges'],
      access: { roles: ['admin', 'partner'], users: true },
      params: z.strictObject({ id: z.uuid() }),
      responses: { 200: { description: 'The edge', schema: edgeStatusView } },
      handle: async ({ params, principal }) => ({
        status: 200,
        body: toEdgeStatusView(await edgeStatus(deps, params.id, (tenantId) => canSeeTenant(principal, tenantId))),
      }),
    }),
  ];
}
