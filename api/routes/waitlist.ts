// The waitlist as its user sees it: position, score explained, milestones, only true messages.
import { z } from 'zod';
import type { DatabasePool } from '../../db/pool.ts';
import { LADDER } from '../../domain/milestones.ts';
import { admissionOf, type AdmissionRow } from '../../db/users.ts';
import { waitlistView } from '../../services/waitlist.ts';
import { defineRoute } from '../route.ts';

const iso = z.iso.datetime();

const meView = z.object({
  userId: z.uuid(),
  status: z.enum(['waitlisted', 'active']),
  position: z.number().int().nullable().describe('1 is next in line; null once admitted.'),
  waitingSince: iso,
  admitted: z.object({ at: iso, waveId: z.uuid(), waveName: z.string() }).nullable(),
  admission: z
    .object({
      via: z.enum(['wave', 'invite', 'launch']),
      at: iso,
      inviteCode: z.string().nullable().describe('For an invite admission (a seat): the code redeemed.'),
    })
    .nullable()
    .describe('How you were admitted: a wave, or an invite (outside every wave). null while waiting.'),
  score: z.object({
    points: z.number().int(),
    explanation: z.array(
      z.object({ what: z.string(), count: z.number().int(), pointsEach: z.number().int(), points: z.number().int() }),
    ),
    order: z.string(),
  }),
  waveSkip: z.boolean().describe('Earned at 5 vested referrals: ahead of every score, so in the next wave with seats.'),
  referrals: z.object({
    vested: z.number().int(),
    waiting: z.number().int(),
    expired: z.number().int(),
    held: z.number().int().describe('Held for review (whatever their stage): they count for nothing until cleared.'),
  }),
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

/** How an active user was admitted, as recorded (a wave admission before admitted_via existed names its wave). */
function admissionView(a: AdmissionRow | null, status: 'waitlisted' | 'active') {
  const via = a?.admitted_via ?? (a?.admitted_wave_id ? 'wave' : null);
  if (!a?.admitted_at || status !== 'active' || via === null) return null;
  return { via, at: a.admitted_at.toISOString(), inviteCode: via === 'invite' ? a.code : null };
}

export function waitlistRoutes({ db }: { db: DatabasePool }) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/waitlist/me',
      operationId: 'getMyWaitlistPlace',
      summary: "The caller's place on the waitlist, explained",
      description:
        'Position, score with what counted for how much (a head start from an invite or a referral link is a line of its own), how you were admitted, milestones and the next one with exactly how many vested referrals it needs, entitlements, and messages only when literally true.',
      tags: ['waitlist'],
      access: { users: true },
      responses: { 200: { description: 'Your place', schema: meView } },
      handle: async ({ principal }) => {
        if (principal?.type !== 'user') throw new Error('unreachable: users only');
        const [v, admission] = await Promise.all([
          waitlistView(db, principal.userId),
          admissionOf(db, principal.userId),
        ]);
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
            admission: admissionView(admission, v.status),
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
  ];
}
