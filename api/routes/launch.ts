import { z } from 'zod';
import { PROGRAM_PHASES } from '../../domain/edge.ts';
import { LAUNCH_STATUSES } from '../../domain/launch.ts';
import { launchProgram, launchProgress, type LaunchServiceDeps, type LaunchView } from '../../services/launch.ts';
import { principalLabel } from '../auth.ts';
import { defineRoute } from '../route.ts';

const launchView = z.object({
  phase: z.enum(PROGRAM_PHASES).describe('The program phase now: whatever prices a payment reads it.'),
  phaseChangedAt: z.iso.datetime().nullable(),
  status: z
    .enum(LAUNCH_STATUSES)
    .describe('not_started (beta), starting (public; the workflow is about to start), running, completed.'),
  workflowId: z.string().nullable().describe('The launch-flip workflow, to follow in the Temporal UI.'),
  startedAt: z.iso.datetime().nullable(),
  startedBy: z.string().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  total: z.number().int().describe('Beta auto-enrolled edges to tell, counted when the program went public.'),
  converted: z.number().int().describe('Edge workflows told so far (each now earns cash at the beta tier).'),
  skipped: z.number().int().describe('Edge workflows that had already ended (expired, completed, voided).'),
  remaining: z.number().int(),
  partnersEnrolled: z
    .number()
    .int()
    .describe('Referrers of beta edges enrolled as approved partners at the beta tier.'),
  waitlist: z
    .object({
      atFlip: z.number().int().describe('Users waitlisted when the program went public.'),
      admitted: z
        .number()
        .int()
        .describe('Users the flip admitted so far, in the waitlist order (each made active and mailed once).'),
      total: z
        .number()
        .int()
        .describe(
          'Users the flip has to admit: admitted so far plus still waiting (signups after the flip wait behind them until it has finished).',
        ),
      remaining: z.number().int().describe('Still waiting; 0 once the admission has finished.'),
      finishedAt: z.iso
        .datetime()
        .nullable()
        .describe('When nobody waited any more: from then on every signup is active at once.'),
    })
    .nullable()
    .describe("The flip's admission of everyone still on the waitlist; null before the flip."),
});

const body = (v: LaunchView) => ({
  ...v,
  phaseChangedAt: v.phaseChangedAt?.toISOString() ?? null,
  startedAt: v.startedAt?.toISOString() ?? null,
  finishedAt: v.finishedAt?.toISOString() ?? null,
  waitlist: v.waitlist && { ...v.waitlist, finishedAt: v.waitlist.finishedAt?.toISOString() ?? null },
});

export function launchRoutes(deps: LaunchServiceDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/admin/launch',
      operationId: 'launchProgram',
      summary: 'The launch flip: the program goes public',
      description:
        'Switches the program phase to public and starts the launch-flip workflow that admits everyone still on the waitlist, in its ' +
        'order, and tells every beta edge (202). Until the admission has finished, new signups wait behind them. From the commit on, ' +
        'payments on beta auto-enrolled edges earn cash at the beta tier, whether or not their workflow was told yet. Done once: a later ' +
        "call answers 200 with the flip's progress and changes nothing.",
      tags: ['launch'],
      access: { roles: ['admin'] },
      idempotent: true,
      query: z.strictObject({
        pageSize: z.coerce
          .number()
          .int()
          .min(1)
          .max(5_000)
          .optional()
          .describe('Edges per page the workflow tells at once (default 500).'),
        pagesPerRun: z.coerce
          .number()
          .int()
          .min(1)
          .max(100)
          .optional()
          .describe('Pages per workflow run before it continues as new (default 20).'),
      }),
      responses: {
        200: { description: 'Flipped before: where the flip stands', schema: launchView },
        202: { description: 'Flipped now; the workflow follows', schema: launchView },
      },
      handle: async ({ query, principal }) => {
        const { created, launch } = await launchProgram(deps, {
          startedBy: principalLabel(principal),
          pageSize: query.pageSize,
          pagesPerRun: query.pagesPerRun,
        });
        return { status: created ? 202 : 200, body: body(launch) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/launch',
      operationId: 'getLaunch',
      summary: "The program phase and the launch flip's progress (converted / total, waitlist admitted / total)",
      tags: ['launch'],
      access: { roles: ['admin'] },
      responses: { 200: { description: 'The phase and the flip', schema: launchView } },
      handle: async () => ({ status: 200, body: body(await launchProgress(deps)) }),
    }),
  ];
}
