import { z } from 'zod';
import { HOLD_STATUSES, type HoldRow } from '../../db/fraud-holds.ts';
import {
  archiveEdge,
  decideHold,
  holdsForReview,
  type Archive,
  type Decision,
  type ReviewDeps,
} from '../../services/fraud-review.ts';
import { principalLabel } from '../auth.ts';
import { defineRoute } from '../route.ts';

const iso = z.iso.datetime();
const reason = z.string().trim().min(1).max(500);

const holdView = z.object({
  id: z.string().describe('The hold verdict: `fraud:<stage>:<edgeId>:<subject>` when the fraud rules raised it.'),
  edgeId: z.uuid(),
  referrerId: z.uuid(),
  refereeId: z.uuid(),
  rule: z.string().nullable().describe('The rule that raised it (null: an admin held the edge by hand).'),
  reason: z.string(),
  evidence: z.record(z.string(), z.unknown()).describe('What the rule saw: ids, counts, shared values.'),
  score: z.number().int().nullable(),
  decidedBy: z.string().describe('Who held it: `fraud:<rules>` or the admin.'),
  createdAt: iso,
  status: z
    .enum(HOLD_STATUSES)
    .describe(
      '`open`: the edge earns nothing until a decision. `cleared`: the edge vests and earns again. `voided`: the edge was voided; what it earned is taken back.',
    ),
  resolutionId: z.string().nullable().describe('The verdict that decided it (null while open).'),
  resolvedBy: z.string().nullable(),
  resolvedAt: iso.nullable(),
  resolutionReason: z.string().nullable(),
});
const toHoldView = (h: HoldRow): z.infer<typeof holdView> => ({
  id: h.id,
  edgeId: h.edge_id,
  referrerId: h.referrer_id,
  refereeId: h.referee_id,
  rule: h.rule,
  reason: h.reason,
  evidence: h.evidence ?? {},
  score: h.score,
  decidedBy: h.decided_by,
  createdAt: h.created_at.toISOString(),
  status: h.status,
  resolutionId: h.resolution_id,
  resolvedBy: h.resolved_by,
  resolvedAt: h.resolved_at?.toISOString() ?? null,
  resolutionReason: h.resolution_reason,
});

const archiveView = z.object({
  verdictId: z.string(),
  edgeId: z.uuid(),
  verdict: z.literal('void'),
  reason: z.string(),
  terms: z.string().nullable(),
  decidedBy: z.string(),
  createdAt: iso,
  takeBack: z
    .object({
      asOf: iso,
      cashCents: z.number().int().describe('Pending plus payable.'),
      pendingCents: z.number().int(),
      payableCents: z.number().int().describe('Taken back also if it was since paid out (the balance goes negative).'),
      credits: z.number().int(),
    })
    .describe(
      "What the edge's payments keep in the ledger as of `asOf` (cash on the referrer's tenant, credit commission on the referrer): the edge's workflow takes all of it back when the void reaches it, with whatever it prices before then; once it has, these read 0. Ladder credits are not per edge: the void recounts the referrer's standing without the edge.",
    ),
});
const toArchiveView = ({ verdict, terms, takeBack }: Archive): z.infer<typeof archiveView> => ({
  verdictId: verdict.id,
  edgeId: verdict.edge_id,
  verdict: 'void',
  reason: verdict.reason,
  terms,
  decidedBy: verdict.decided_by,
  createdAt: verdict.created_at.toISOString(),
  takeBack: { ...takeBack, asOf: takeBack.asOf.toISOString() },
});

function decisionRoute(deps: ReviewDeps, decision: Decision) {
  const [verb, what] =
    decision === 'clear'
      ? ['Clear', 'the edge vests (if its referee activated in time) and earns again']
      : ['Void', 'the edge is voided: its workflow takes back everything it earned and ends'];
  return defineRoute({
    method: 'post',
    path: `/v1/admin/fraud/holds/{id}/${decision}`,
    operationId: `${decision}Hold`,
    summary: `${verb} a hold: ${what}`,
    description:
      decision === 'clear'
        ? 'Records a clear naming the hold, with the reason and the reviewer. A cleared hold answers its resolution (200); a voided one cannot be cleared (409 `hold_voided`).'
        : 'Records a void naming the hold, with the reason and the reviewer; a cleared hold may still be voided (a new decision). A voided hold answers its resolution (200).',
    tags: ['fraud'],
    access: { roles: ['admin'] },
    idempotent: true,
    params: z.strictObject({ id: z.string().min(1).max(200) }),
    body: z.strictObject({ reason }),
    responses: {
      201: { description: 'Decided: on its way to the edge', schema: holdView },
      200: { description: 'Already decided so: its resolution', schema: holdView },
    },
    handle: async ({ params, body, principal }) => {
      const { hold, created } = await decideHold(deps, params.id, decision, {
        reason: body.reason,
        reviewer: principalLabel(principal),
      });
      return { status: created ? 201 : 200, body: toHoldView(hold) };
    },
  });
}

export function fraudRoutes(deps: ReviewDeps) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/admin/fraud/holds',
      operationId: 'listHolds',
      summary: 'Holds for review, newest first',
      description:
        'Each hold names its edge, referrer and referee, the rule, its reason, evidence and score, and what became of it.',
      tags: ['fraud'],
      access: { roles: ['admin'] },
      query: z.strictObject({
        status: z
          .enum([...HOLD_STATUSES, 'all'])
          .default('open')
          .describe('Which holds: still open (default), cleared, voided, or all.'),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.string().min(1).max(400).optional().describe('`nextCursor` of the previous page.'),
      }),
      responses: {
        200: {
          description: 'A page of holds',
          schema: z.object({ data: z.array(holdView), nextCursor: z.string().nullable() }),
        },
      },
      handle: async ({ query }) => {
        const page = await holdsForReview(deps, query);
        return { status: 200, body: { data: page.data.map(toHoldView), nextCursor: page.nextCursor } };
      },
    }),
    decisionRoute(deps, 'clear'),
    decisionRoute(deps, 'void'),
    defineRoute({
      method: 'post',
      path: '/v1/admin/edges/{id}/archive',
      operationId: 'archiveEdge',
      summary: 'Archive an edge under the terms: void it and take back everything it earned',
      description:
        "A void decided by the admin, with the reason and the terms it is decided under. The edge's workflow takes back the commission its payments keep (cash pending and payable, credits) and ends; payments still waiting earn nothing. Once per edge: a repeat answers the first archive (200). An edge already void (409 `edge_voided`) or whose workflow has ended, completed or expired (409 `edge_closed`), is not archived.",
      tags: ['fraud'],
      access: { roles: ['admin'] },
      idempotent: true,
      params: z.strictObject({ id: z.uuid() }),
      body: z.strictObject({
        reason,
        terms: z
          .string()
          .trim()
          .min(1)
          .max(200)
          .optional()
          .describe('The clause of the terms the edge is voided under, e.g. "Referral terms §4.2 (self-referral)".'),
      }),
      responses: {
        201: { description: 'Archived: the void is on its way to the edge', schema: archiveView },
        200: { description: 'Already archived: the first archive', schema: archiveView },
      },
      handle: async ({ params, body, principal }) => {
        const archive = await archiveEdge(deps, params.id, {
          reason: body.reason,
          terms: body.terms ?? null,
          reviewer: principalLabel(principal),
        });
        return { status: archive.created ? 201 : 200, body: toArchiveView(archive) };
      },
    }),
  ];
}
