// Waves as admins run them: scheduling, admitting, the current wait, and the release forecast.
import { z } from 'zod';
import type { DatabasePool } from '../../db/pool.ts';
import type { WaveRow } from '../../db/waves.ts';
import {
  admit,
  createWave,
  forecastRelease,
  getWave,
  waitlistAdminView,
  type WaveReleaseLink,
} from '../../services/waves.ts';
import type { WaveSettings } from '../../platform/env.ts';
import { principalLabel } from '../auth.ts';
import { dateInput } from '../dates.ts';
import { defineRoute } from '../route.ts';

const iso = z.iso.datetime();
const waveView = z.object({
  id: z.uuid(),
  name: z.string(),
  seatCap: z.number().int(),
  admittedCount: z.number().int(),
  seatsLeft: z.number().int(),
  opensAt: iso,
  status: z.enum(['scheduled', 'released']),
  planned: z.boolean().describe('Planned by the release workflow to keep waits under target, not set by hand.'),
  releasedAt: iso.nullable(),
  createdBy: z.string(),
  createdAt: iso,
});
const toWaveView = (w: WaveRow) => ({
  id: w.id,
  name: w.name,
  seatCap: w.seat_cap,
  admittedCount: w.admitted_count,
  seatsLeft: w.seat_cap - w.admitted_count,
  opensAt: w.opens_at.toISOString(),
  status: w.status,
  planned: w.auto,
  releasedAt: w.released_at?.toISOString() ?? null,
  createdBy: w.created_by,
  createdAt: w.created_at.toISOString(),
});

const forecastView = z.object({
  requested: z.number().int(),
  release: z
    .number()
    .int()
    .describe('Users the release would admit: the next in line, at most as many as are waiting.'),
  expectedPaying: z
    .number()
    .int()
    .nullable()
    .describe('Rounded to the nearest customer; null without any measured cohort.'),
  observationDays: z
    .number()
    .int()
    .describe(
      'A cohort counts as paying when it paid within this many days of admission; only cohorts admitted at least this long ago are used.',
    ),
  lines: z.array(
    z.object({
      bucket: z.string(),
      released: z.number().int(),
      cohort: z.object({ admitted: z.number().int(), paying: z.number().int() }),
      rateBps: z.number().int().nullable(),
      basis: z.enum(['cohort', 'all_cohorts', 'none']),
      expectedHundredths: z.number().int().nullable(),
    }),
  ),
  note: z.string(),
});

export function waveRoutes({
  db,
  waves,
  release,
}: {
  db: DatabasePool;
  waves: WaveSettings;
  release: WaveReleaseLink;
}) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/admin/waves',
      operationId: 'createWave',
      summary: 'Schedule a wave: a seat cap and an opening time',
      description:
        'The wave-release workflow admits it when it opens; POST /v1/admin/waves/{id}/admit admits it at once.',
      tags: ['waitlist'],
      access: { roles: ['admin'] },
      idempotent: true,
      body: z.strictObject({
        name: z.string().trim().min(1).max(100).optional(),
        seatCap: z.number().int().min(1).max(1_000_000),
        opensAt: dateInput.describe(
          'When the wave opens (ISO 8601 with a time zone, between 2000-01-01 and 2100-01-01).',
        ),
      }),
      responses: { 201: { description: 'Scheduled', schema: waveView } },
      handle: async ({ body, principal }) => {
        const wave = await createWave(
          db,
          { name: body.name, seatCap: body.seatCap, opensAt: body.opensAt },
          principalLabel(principal),
          release,
        );
        return { status: 201, body: toWaveView(wave) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/waves/{id}',
      operationId: 'getWave',
      summary: 'A wave: cap, admitted count, opening time, and who (paged)',
      tags: ['waitlist'],
      access: { roles: ['admin'] },
      params: z.strictObject({ id: z.uuid() }),
      query: z.strictObject({
        cursor: z
          .string()
          .regex(/^\d{1,9}$/)
          .optional(),
        limit: z.coerce.number().int().min(1).max(1_000).default(100),
      }),
      responses: {
        200: {
          description: 'The wave',
          schema: waveView.extend({
            admitted: z.array(
              z.object({
                userId: z.uuid(),
                email: z.string(),
                position: z.number().int(),
                waitedSince: iso,
                admittedAt: iso,
                status: z.enum(['waitlisted', 'active']),
              }),
            ),
            nextCursor: z.string().nullable(),
          }),
        },
      },
      handle: async ({ params, query }) => {
        const { wave, admitted, nextCursor } = await getWave(db, params.id, query);
        return {
          status: 200,
          body: {
            ...toWaveView(wave),
            admitted: admitted.map((a) => ({
              userId: a.user_id,
              email: a.email,
              position: a.position,
              waitedSince: a.waited_since.toISOString(),
              admittedAt: a.admitted_at.toISOString(),
              status: a.status,
            })),
            nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/admin/waves/{id}/admit',
      operationId: 'admitWave',
      summary: 'Admit a wave now: the top of the list up to its seats, each made active',
      description:
        'Idempotent: a wave is admitted once; another call (also at the same moment) admits no one more and answers the wave.',
      tags: ['waitlist'],
      access: { roles: ['admin'] },
      params: z.strictObject({ id: z.uuid() }),
      responses: { 200: { description: 'Admitted', schema: waveView.extend({ admittedNow: z.number().int() }) } },
      handle: async ({ params }) => {
        const { wave, admittedNow } = await admit(db, params.id);
        return { status: 200, body: { ...toWaveView(wave), admittedNow } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/waitlist',
      operationId: 'getWaitlistAdmin',
      summary: 'The current wait: how many wait, the longest and median wait, inflow, the waves to come',
      tags: ['waitlist'],
      access: { roles: ['admin'] },
      responses: {
        200: {
          description: 'The waitlist now',
          schema: z.object({
            waiting: z.number().int(),
            longestWaitDays: z.number().nullable(),
            medianWaitDays: z.number().nullable(),
            oldestWaitingSince: iso.nullable(),
            targetWaitDays: z.number().int(),
            signupsLast7Days: z.number().int(),
            scheduledWaves: z.array(waveView),
          }),
        },
      },
      handle: async () => {
        const v = await waitlistAdminView(db, waves.targetWaitDays);
        return {
          status: 200,
          body: {
            ...v,
            oldestWaitingSince: v.oldestWaitingSince?.toISOString() ?? null,
            scheduledWaves: v.scheduledWaves.map(toWaveView),
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/admin/forecast',
      operationId: 'getReleaseForecast',
      summary: 'Release X people, expect Y paying customers',
      description:
        'From measured cohorts: admitted users by how long they had waited and how many of them paid; the next X in line weighed by the cohort that waited as long.',
      tags: ['waitlist'],
      access: { roles: ['admin', 'finance'] },
      query: z.strictObject({ release: z.coerce.number().int().min(1).max(1_000_000) }),
      responses: { 200: { description: 'The forecast and the data behind it', schema: forecastView } },
      handle: async ({ query }) => {
        const f = await forecastRelease(db, query.release, waves.forecastObservationDays);
        return { status: 200, body: { requested: query.release, ...f } };
      },
    }),
  ];
}
