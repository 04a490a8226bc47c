// Liveness (the process answers) and readiness (PostgreSQL and Temporal answer).
import { z } from 'zod';
import { defineRoute } from '../route.ts';

export type ReadinessCheck = { name: string; check: () => Promise<void> };

const healthBody = z.object({ status: z.literal('ok') });
const readyBody = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
  down: z.array(z.string()),
});

export function healthRoutes(checks: readonly ReadinessCheck[]) {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'The process is up',
      tags: ['operations'],
      access: { public: true },
      responses: { 200: { description: 'Up', schema: healthBody } },
      handle: async () => ({ status: 200, body: { status: 'ok' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'ready',
      summary: 'PostgreSQL and Temporal are reachable',
      tags: ['operations'],
      access: { public: true },
      responses: {
        200: { description: 'Every dependency answered', schema: readyBody },
        503: { description: 'A dependency is down; `down` names it', schema: readyBody },
      },
      handle: async () => {
        const results = await Promise.all(
          checks.map(async ({ name, check }) => {
            try {
              await check();
              return [name, { ok: true }] as const;
            } catch (err) {
              return [name, { ok: false, error: String((err as Error).message ?? err).slice(0, 300) }] as const;
            }
          }),
        );
        const down = results.filter(([, r]) => !r.ok).map(([name]) => name);
        return {
          status: down.length ? 503 : 200,
          body: { status: down.length ? 'unavailable' : 'ready', checks: Object.fromEntries(results), down },
        };
      },
    }),
  ];
}
