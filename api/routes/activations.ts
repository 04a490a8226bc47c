import { z } from 'zod';
import { edgeWorkflowId } from '../../contracts/edge-lifecycle.ts';
import { recordActivation, type ActivationDeps } from '../../services/activations.ts';
import { defineRoute } from '../route.ts';

const activationRequest = z.strictObject({
  userId: z.uuid().describe('The referee who built an app.'),
  deviceId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('The device the user built it on, opaque (e.g. a device fingerprint): a fraud signal.'),
});
const activationResponse = z.object({
  userId: z.uuid(),
  activatedAt: z.iso.datetime().describe('The first activation; repeats keep it.'),
  edge: z
    .object({
      id: z.uuid(),
      workflowId: z.string(),
      told: z
        .boolean()
        .describe(
          "False when the edge's workflow had already ended (its activation window expired): the activation came too late to vest it.",
        ),
    })
    .nullable()
    .describe('The edge that brought the user; null when nobody referred them.'),
});

export function activationRoutes(deps: ActivationDeps) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/activations',
      operationId: 'createActivation',
      summary: 'The referee built an app',
      description:
        'Records the activation and signals the edge workflow, which vests the edge. Idempotent: repeating it changes nothing.',
      tags: ['events'],
      access: { roles: ['server', 'admin'] },
      body: activationRequest,
      responses: { 202: { description: 'Recorded; the edge workflow has the signal', schema: activationResponse } },
      handle: async ({ body }) => {
        const result = await recordActivation(deps, body);
        return {
          status: 202,
          body: {
            userId: result.userId,
            activatedAt: result.activatedAt.toISOString(),
            edge: result.edge && {
              id: result.edge.id,
              workflowId: edgeWorkflowId(result.edge.referee_id),
              told: result.edgeOpen,
            },
          },
        };
      },
    }),
  ];
}
