import { z } from 'zod';
import { EDGE_KINDS, EDGE_SOURCES } from '../../domain/edge.ts';
import { maskEmail } from '../../domain/email.ts';
import { listDownline } from '../../services/downline.ts';
import { notFound } from '../../services/errors.ts';
import type { DatabasePool } from '../../db/pool.ts';
import { defineRoute } from '../route.ts';

const downlineQuery = z.strictObject({
  depth: z.coerce
    .number()
    .int()
    .min(1)
    .max(5)
    .default(1)
    .describe('Levels below the user: 1 is whom they brought directly.'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});
const downlineResponse = z.object({
  data: z.array(
    z.object({
      userId: z.uuid(),
      email: z
        .string()
        .describe(
          'Masked (`j***@g***.com`) beyond depth 1 when the user reads their own downline: whom they did not bring is not theirs to see.',
        ),
      referrerId: z.uuid(),
      depth: z.number().int(),
      edge: z.object({
        id: z.uuid(),
        source: z.enum(EDGE_SOURCES),
        kind: z.enum(EDGE_KINDS),
        vested: z.boolean(),
        createdAt: z.iso.datetime(),
      }),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export function userRoutes({ db }: { db: DatabasePool }) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/users/{id}/downline',
      operationId: 'getDownline',
      summary: 'Whom a user brought (and whom they brought, with depth)',
      description: 'For the user themself or an admin; anyone else gets 404.',
      tags: ['graph'],
      access: { users: true, roles: ['admin'] },
      params: z.strictObject({ id: z.uuid() }),
      query: downlineQuery,
      responses: { 200: { description: 'A page of the downline', schema: downlineResponse } },
      handle: async ({ params, query, principal }) => {
        const allowed = principal?.type === 'user' ? principal.userId === params.id : principal?.role === 'admin';
        if (!allowed) throw notFound('user_not_found', `No user ${params.id}.`);
        const page = await listDownline(db, params.id, query);
        const masked = principal?.type === 'user';
        return {
          status: 200,
          body: {
            data: page.data.map((r) => ({
              userId: r.user_id,
              email: masked && r.depth > 1 ? maskEmail(r.email) : r.email,
              referrerId: r.referrer_id,
              depth: r.depth,
              edge: {
                id: r.edge_id,
                source: r.source as never,
                kind: r.kind as never,
                vested: r.vested_at !== null,
                createdAt: r.created_at.toISOString(),
              },
            })),
            nextCursor: page.nextCursor,
          },
        };
      },
    }),
  ];
}
