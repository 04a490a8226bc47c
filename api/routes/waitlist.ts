import { z } from 'zod';
import type { DatabasePool } from '../../db/pool.ts';
import type { WaveRow } from '../../db/waves.ts';
import { LADDER } from '../../domain/waitlist.ts';
import { waitlistView } from '../../services/waitlist.ts';
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

const meView = z.object({
  userId: z.uuid(),
  status: z.enum(['waitlisted', 'active']),
  position: z.number().int().nullable().describe('1 is next in line; null once admitted.'),
  waitingSince: iso,
  admitted: z.object({ at: iso, waveId: z.uuid(), waveName: z.string() }).nullable(),
  score: z.object({
    points: z.number().int(),
    explanation: z.array(
      z.object({ what: z.string(), count: z.number().int(), pointsEach: z.number().int(), points: z.number().int() }),
    ),
    order: z.string(),
  }),
  waveSkip: z.boolean().describe('Earned at 5 vested referrals: ahead of every score, so in the next wave with seats.'),
  referrals: z.object({ vested: z.number().int(), waiting: z.number().int(), expired: z.number().int() }),
  milestones: z.object({
    reached: z.array(
      z.object({ at: z.number().int(), title: z.string().nullable(), reward: z.string(), grantedAt: iso.nullable() }),
    ),
    next: z
      .object({
        at: z.number().int(),
        title: z.string().nullable(),
        reward: z.string(),
        referralsNeeded: z.number().int(),
      })
      .nullable(),
    ladder: z.array(z.object({ at: z.number().int(), title: z.string().nullable(), reward: z.string() })),
  }),
  entitlements: z.array(
    z.object({
      kind: z.string(),
      detail: z.string(),
      source: z.string(),
      durationDays: z.number().int().nullable(),
      vestsOnActivation: z.boolean(),
      startsAt: iso.nullable(),
      endsAt: iso.nullable(),
      grantedAt: iso,
    }),
  ),
  lastJump: z.object({ at: iso, from: z.number().int(), to: z.number().int() }).nullable(),
  nextWave: z
    .object({ id: z.uuid(), name: z.string(), opensAt: iso, seatCap: z.number().int(), seatsLeft: z.number().int() })
    .nullable(),
  messages: z.array(z.object({ kind: z.enum(['passed_you', 'next_milestone', 'next_wave_seats']), text: z.string() })),
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

export function waitlistRoutes({
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
      method: 'get',
      path: '/v1/waitlist/me',
      operationId: 'getMyWaitlistPlace',
      summary: "The caller's place on the waitlist, explained",
      description:
        'Position, score with what counted for how much, milestones and the next one with exactly how many vested referrals it needs, entitlements, and messages only when literally true.',
      tags: ['waitlist'],
      access: { users: true },
      responses: { 200: { description: 'Your place', schema: meView } },
      handle: async ({ principal }) => {
        if (principal?.type !== 'user') throw new Error('unreachable: users only');
        const v = await waitlistView(db, principal.userId);
        return {
          status: 200,
          body: {
            userId: v.userId,
            status: v.status,
            position: v.position,
            waitingSince: v.waitingSince.toISOString(),
            admitted: v.admitted && {
              at: v.admitted.at.toISOString(),
              waveId: v.admitted.waveId,
              waveName: v.admitted.waveName,
            },
            score: {
              points: v.score.points,
              explanation: v.score.lines,
              order: 'Wave skips first, then points, then who signed up first.',
            },
            waveSkip: v.waveSkip,
            referrals: v.referrals,
            milestones: {
              reached: v.milestones.reached.map((r) => ({
                at: r.at,
                title: r.title,
                reward: r.label,
                grantedAt: r.grantedAt?.toISOString() ?? null,
              })),
              next: v.milestones.next && {
                at: v.milestones.next.at,
                title: v.milestones.next.title,
                reward: v.milestones.next.label,
                referralsNeeded: v.milestones.next.referralsNeeded,
              },
              ladder: LADDER.map((r) => ({ at: r.at, title: r.title, reward: r.label })),
            },
            entitlements: v.entitlements.map((e) => ({
              kind: e.kind,
              detail: e.detail,
              source: e.source,
              durationDays: e.duration_days,
              vestsOnActivation: e.vests_on_activation,
              startsAt: e.starts_at?.toISOString() ?? null,
              endsAt: e.ends_at?.toISOString() ?? null,
              grantedAt: e.granted_at.toISOString(),
            })),
            lastJump: v.lastJump && { at: v.lastJump.at.toISOString(), from: v.lastJump.from, to: v.lastJump.to },
            nextWave: v.nextWave && { ...v.nextWave, opensAt: v.nextWave.opensAt.toISOString() },
            messages: v.messages,
          },
        };
      },
    }),
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
        opensAt: iso.describe('When the wave opens (ISO 8601 with time zone).'),
      }),
      responses: { 201: { description: 'Scheduled', schema: waveView } },
      handle: async ({ body, principal }) => {
        const wave = await createWave(
          db,
          { name: body.name, seatCap: body.seatCap, opensAt: new Date(body.opensAt) },
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
