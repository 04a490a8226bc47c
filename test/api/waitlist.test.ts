// The waitlist on the real stack: a referral vests through its edge workflow, the referrer's score,
// place and milestone rewards follow (credits in the ledger, entitlements), and GET /v1/waitlist/me
// explains it and shows messages only when they are literally true.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createEdgeProgressActivities } from '../../activities/edge-progress.ts';
import { balanceOf } from '../../db/ledger.ts';
import { userCredits } from '../../domain/ledger-postings.ts';
import { TEST_KEYS, type TestApi } from '../support/app.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import type { TestDatabase } from '../support/database.ts';
import { signup, uniqueEmail, type SignedUp } from '../support/graph.ts';
import { eventually } from '../support/temporal.ts';

let stack: TestStack;
let database: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  // Referees through a link start with no head start here, so the places below are the referral's
  // alone (the head start has its own test in seats-and-credits.test.ts).
  stack = await startStack('waitlist', { env: { LINK_HEAD_START_POINTS: '0' } });
  ({ database, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

const me = async (user: SignedUp) => {
  const res = await api.request('/v1/waitlist/me', { key: user.token });
  expect(res.status).toBe(200);
  return res.body;
};
const kinds = (body: { messages: { kind: string }[] }) => body.messages.map((m) => m.kind);
const activate = async (userId: string) =>
  expect((await api.request('/v1/activations', { json: { userId }, key: TEST_KEYS.server })).status).toBe(202);

describe('waitlist through the edge workflows', () => {
  it('a vested referral scores, grants rung 1 once, jumps the referrer up, and the people passed are told so', async () => {
    const older = [await signup(api), await signup(api)];
    const referrer = await signup(api);
    expect(referrer.body.user.status).toBe('waitlisted');
    const before = await me(referrer);
    expect(before).toMatchObject({
      status: 'waitlisted',
      score: { points: 0 },
      referrals: { vested: 0, waiting: 0, expired: 0 },
      lastJump: null,
      milestones: { reached: [], next: { at: 1, referralsNeeded: 1 } },
    });
    expect(before.position).toBeGreaterThan(2);
    expect(before.messages).toEqual([
      { kind: 'next_milestone', text: "You're 1 referral from a badge, 250 credits and a jump up the list." },
    ]);

    const referees = [
      await signup(api, { ref: referrer.referralCode }),
      await signup(api, { ref: referrer.referralCode }),
    ];
    // Signed up but not activated: counted, explained, worth nothing yet; the message still needs 1.
    const waiting = await me(referrer);
    expect(waiting).toMatchObject({
      score: { points: 0 },
      referrals: { vested: 0, waiting: 2 },
      position: before.position,
    });
    expect(waiting.score.explanation[1]).toMatchObject({ count: 2, pointsEach: 0, points: 0 });
    expect(waiting.messages.find((m: any) => m.kind === 'next_milestone').text).toBe(
      "You're 1 referral from a badge, 250 credits and a jump up the list.",
    );

    await activate(referees[0]!.id);
    const after = await eventually(async () => {
      const body = await me(referrer);
      return body.referrals.vested === 1 ? body : undefined;
    });
    expect(after).toMatchObject({
      position: 1,
      score: { points: 10 },
      referrals: { vested: 1, waiting: 1 },
      lastJump: { from: before.position, to: 1 },
      milestones: { reached: [{ at: 1 }], next: { at: 3, referralsNeeded: 2 } },
    });
    expect(after.entitlements).toEqual([
      expect.objectContaining({ kind: 'badge', detail: 'first-referral', source: 'milestone:1' }),
    ]);
    expect(after.messages.find((m: any) => m.kind === 'next_milestone').text).toBe(
      "You're 2 referrals from 1,000 credits and a 7-day Pro preview.",
    );
    expect(await balanceOf(database.db, userCredits(referrer.id))).toBe(250);

    // Those who were ahead and are now behind were passed; those already behind were not.
    for (const o of older)
      expect((await me(o)).messages).toContainEqual({ kind: 'passed_you', text: '1 person passed you this week.' });
    for (const r of referees) expect(kinds(await me(r))).not.toContain('passed_you');

    // The activation again, and the activity again: nothing more.
    await activate(referees[0]!.id);
    await createEdgeProgressActivities({ db: database.db }).recordEdgeVested({
      edgeId: referees[0]!.body.edge.id,
      vestedAt: new Date().toISOString(),
    });
    expect(await balanceOf(database.db, userCredits(referrer.id))).toBe(250);
    expect((await me(referrer)).milestones.reached).toHaveLength(1);
  });

  it('requires a user session: keys and anonymous callers are refused', async () => {
    expect((await api.request('/v1/waitlist/me')).status).toBe(401);
    expect((await api.request('/v1/waitlist/me', { key: TEST_KEYS.admin })).status).toBe(403);
  });
});

/** A referrer with `n` beta referees written directly (their workflows are not needed here). */
async function referrerWith(n: number): Promise<{ referrer: SignedUp; edgeIds: string[]; refereeIds: string[] }> {
  const referrer = await signup(api);
  const refereeIds = Array.from({ length: n }, () => randomUUID());
  const edgeIds = Array.from({ length: n }, () => randomUUID());
  await database.db.query(sql.unsafe`
    WITH t AS (
      INSERT INTO tenants (id, name) SELECT x, 'bulk' FROM unnest(${sql.array(refereeIds, 'uuid')}::uuid[]) AS x
    ), u AS (
      INSERT INTO users (id, tenant_id, email, inbox, referral_code)
      SELECT x, x, 'bulk-' || x || '@example.com', 'bulk-' || x || '@example.com', 'b' || substr(replace(x::text, '-', ''), 1, 11)
      FROM unnest(${sql.array(refereeIds, 'uuid')}::uuid[]) AS x RETURNING id
    )
    INSERT INTO edges (id, referrer_id, referee_id, source, kind, phase_at_write, activation_window_days)
    SELECT e, ${referrer.id}, r, 'link', 'beta_auto', 'beta', 30
    FROM unnest(${sql.array(edgeIds, 'uuid')}::uuid[], ${sql.array(refereeIds, 'uuid')}::uuid[]) AS x(e, r)
    WHERE EXISTS (SELECT 1 FROM u LIMIT 1)`);
  return { referrer, edgeIds, refereeIds };
}

describe('the milestone ladder, every rung', () => {
  it('grants each rung once at 1, 3, 5, 10, 25, 50, 100 vested referrals, with its credits and entitlements', async () => {
    const { referrer, edgeIds } = await referrerWith(100);
    const activities = createEdgeProgressActivities({ db: database.db });
    const expected: Record<number, { credits: number; entitlements: string[]; next: number | null }> = {
      1: { credits: 250, entitlements: ['badge:first-referral'], next: 3 },
      3: { credits: 1250, entitlements: ['pro_preview'], next: 5 },
      5: { credits: 1250, entitlements: ['wave_skip', 'badge:Builder'], next: 10 },
      10: { credits: 1250, entitlements: ['pro', 'founding_price_lock'], next: 25 },
      25: { credits: 1250, entitlements: ['pro', 'name_on_wall', 'founder_community'], next: 50 },
      50: { credits: 1250, entitlements: ['pro', 'founder_calls'], next: 100 },
      100: { credits: 1250, entitlements: ['studio', 'affiliate_revenue_share'], next: null },
    };
    let seen = 0;
    for (const [i, edgeId] of edgeIds.entries()) {
      const vested = i + 1;
      await activities.recordEdgeVested({ edgeId, vestedAt: new Date().toISOString() });
      const view = await me(referrer);
      const next = view.milestones.next;
      // The message names exactly how many more vested referrals the next rung needs.
      const message = view.messages.find((m: any) => m.kind === 'next_milestone');
      if (next) {
        expect(next.referralsNeeded).toBe(next.at - vested);
        expect(message.text).toBe(
          `You're ${next.referralsNeeded} referral${next.referralsNeeded === 1 ? '' : 's'} from ${next.reward}.`,
        );
      } else {
        expect(message).toBeUndefined();
      }
      const rung = expected[vested];
      if (!rung) continue;
      const fromRung = view.entitlements
        .filter((e: any) => e.source === `milestone:${vested}`)
        .map((e: any) => (e.detail ? `${e.kind}:${e.detail}` : e.kind));
      expect(fromRung).toEqual(rung.entitlements);
      expect(view.milestones.reached.map((r: any) => r.at)).toEqual(
        Object.keys(expected)
          .map(Number)
          .filter((at) => at <= vested),
      );
      expect(next?.at ?? null).toBe(rung.next);
      expect(await balanceOf(database.db, userCredits(referrer.id))).toBe(rung.credits);
      seen += 1;
    }
    expect(seen).toBe(7);

    const view = await me(referrer);
    // The 5-referral skip puts the referrer first; Pro for a month waits for the referrer's own app.
    expect(view).toMatchObject({ waveSkip: true, position: 1, score: { points: 1000 } });
    const monthOfPro = view.entitlements.find((e: any) => e.source === 'milestone:10' && e.kind === 'pro');
    expect(monthOfPro).toMatchObject({ vestsOnActivation: true, startsAt: null, endsAt: null, durationDays: 30 });
    const preview = view.entitlements.find((e: any) => e.kind === 'pro_preview');
    expect(new Date(preview.endsAt).getTime() - new Date(preview.startsAt).getTime()).toBe(7 * 86_400_000);

    await activate(referrer.id);
    const started = (await me(referrer)).entitlements.find((e: any) => e.source === 'milestone:10' && e.kind === 'pro');
    expect(started.startsAt).not.toBeNull();
    expect(new Date(started.endsAt).getTime() - new Date(started.startsAt).getTime()).toBe(30 * 86_400_000);

    // Every activity run again: no second grant, no more credits.
    for (const edgeId of edgeIds) await activities.recordEdgeVested({ edgeId, vestedAt: new Date().toISOString() });
    expect(await balanceOf(database.db, userCredits(referrer.id))).toBe(1250);
    const grants = await database.db.oneFirst(
      sql.type(
        z.object({ n: z.number() }),
      )`SELECT count(*)::int AS n FROM milestone_grants WHERE user_id = ${referrer.id}`,
    );
    expect(grants).toBe(7);
  });

  it('a voided referral lowers the score and takes back the rung it reached (its credits and badge); reached again, it is granted again', async () => {
    const { referrer, edgeIds } = await referrerWith(2);
    const activities = createEdgeProgressActivities({ db: database.db });
    await activities.recordEdgeVested({ edgeId: edgeIds[0]!, vestedAt: new Date().toISOString() });
    expect(await balanceOf(database.db, userCredits(referrer.id))).toBe(250);
    await activities.recordEdgeVoided({ edgeId: edgeIds[0]!, voidedAt: new Date().toISOString() });
    const view = await me(referrer);
    expect(view).toMatchObject({
      score: { points: 0 },
      referrals: { vested: 0 },
      milestones: { reached: [], next: { at: 1, referralsNeeded: 1 } },
      entitlements: [],
    });
    expect(view.messages.find((m: any) => m.kind === 'next_milestone').text).toBe(
      "You're 1 referral from a badge, 250 credits and a jump up the list.",
    );
    expect(await balanceOf(database.db, userCredits(referrer.id))).toBe(0);

    await activities.recordEdgeVested({ edgeId: edgeIds[1]!, vestedAt: new Date().toISOString() });
    expect(await me(referrer)).toMatchObject({ milestones: { reached: [{ at: 1 }] }, referrals: { vested: 1 } });
    expect(await balanceOf(database.db, userCredits(referrer.id))).toBe(250);
  });
});

describe('messages that would not be true are not shown', () => {
  it('no "passed you" when the mover stays behind, left the list, or moved more than a week ago', async () => {
    const first = await signup(api);
    const second = await signup(api);
    const { referrer: mover, edgeIds } = await referrerWith(1);
    const activities = createEdgeProgressActivities({ db: database.db });
    // The mover passes first and second, who are told; once the move is dated 8 days back, they are not.
    await activities.recordEdgeVested({ edgeId: edgeIds[0]!, vestedAt: new Date().toISOString() });
    expect(kinds(await me(first))).toContain('passed_you');
    await database.db.query(
      sql.unsafe`UPDATE waitlist_moves SET at = now() - interval '8 days' WHERE user_id = ${mover.id}`,
    );
    expect(kinds(await me(first))).not.toContain('passed_you');
    expect(kinds(await me(second))).not.toContain('passed_you');

    // Moved this week but still behind: not counted. (A user of score 10 ahead of a later mover of score 10.)
    // (Earlier tests' referrers did pass the mover this week, as the data says; the late mover does not add to them.)
    const passedMover = async () => (await me(mover)).messages.find((m: any) => m.kind === 'passed_you')?.text ?? null;
    const moverBefore = await passedMover();
    const { referrer: late, edgeIds: lateEdges } = await referrerWith(1);
    await activities.recordEdgeVested({ edgeId: lateEdges[0]!, vestedAt: new Date().toISOString() });
    expect(await passedMover()).toBe(moverBefore);
    expect(kinds(await me(first))).toContain('passed_you'); // late passed first (score 0 -> 10)

    // The mover left the list (admitted): no longer counted.
    await database.db.query(sql.unsafe`UPDATE users SET status = 'active' WHERE id = ${late.id}`);
    expect(kinds(await me(first))).not.toContain('passed_you');
  });

  it('no seats message without a wave to come, and none once a user is in', async () => {
    const user = await signup(api, { email: uniqueEmail('seats') });
    expect(kinds(await me(user))).not.toContain('next_wave_seats');
    await database.db.query(sql.unsafe`UPDATE users SET status = 'active' WHERE id = ${user.id}`);
    const view = await me(user);
    expect(view).toMatchObject({ status: 'active', position: null });
    expect(kinds(view)).toEqual(['next_milestone']);
  });
});
