import { z } from 'zod';
import { recordCancellation, type CancellationDeps } from '../../services/cancellations.ts';
import { defineRoute } from '../route.ts';

const businessId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

const cancellationRequest = z.strictObject({
  cancellationId: businessId.describe(
    'Your id for the cancellation (e.g. the subscription or event id): a repeat with the same id is the same cancellation.',
  ),
  userId: z.uuid().describe('The user who cancelled.'),
  cancelledAt: z.iso
    .datetime({ offset: true })
    .transform((s) => new Date(s))
    .refine((d) => d.getTime() <= Date.now(), 'must not be in the future')
    .optional()
    .describe('When they cancelled; now if omitted.'),
});

const cancellationView = z.object({
  cancellationId: z.string(),
  userId: z.uuid(),
  cancelledAt: z.iso.datetime(),
  createdAt: z.iso.datetime(),
});

export function cancellationRoutes(deps: CancellationDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/cancellations',
      operationId: 'recordCancellation',
      summary: 'A user cancelled',
      description:
        "Recorded once by cancellationId: the same report again answers 200 with the first record; the same id with another user or time is a 409 `cancellation_conflict`; an unknown user a 404. A beta-seeded commission on the user's payments is forfeited at its retention gate when they cancelled by then.",
      tags: ['events'],
      access: { roles: ['server', 'admin'] },
      idempotent: true,
      body: cancellationRequest,
      responses: {
        201: { description: 'Recorded', schema: cancellationView },
        200: { description: 'Already recorded (a repeat)', schema: cancellationView },
      },
      handle: async ({ body }) => {
        const { cancellation, created } = await recordCancellation(deps, body);
        return {
          status: created ? 201 : 200,
          body: {
            cancellationId: cancellation.id,
            userId: cancellation.user_id,
            cancelledAt: cancellation.cancelled_at.toISOString(),
            createdAt: cancellation.created_at.toISOString(),
          },
        };
      },
    }),
  ];
}
