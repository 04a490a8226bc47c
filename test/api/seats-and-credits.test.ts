// Issue 16, items 1 to 3, on the real stack: an invite is a seat (admits at once, outside the waves,
// within the owner's allowance even under racing redemptions), credits go both ways (the invitee's
// and a head start at redemption or link signup, the inviter's when the invitee builds an app, all
// through the ledger and taken back by a fraud void), and credits people can use (balance and
// movements from the ledger; spends idempotent by id and never below zero under 50 racing spends).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { balanceOf } from '../../db/ledger.ts';
import { creditsIssued, userCredits } from '../../domain/ledger-postings.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { DEFAULT_LINK_GRANTS, DEFAULT_SEAT_INVITES_PER_USER } from '../../domain/seats.ts';
import { TEST_KEYS, type TestApi } from '../support/app.ts';
import type { TestDatabase } from '../support/database.ts';
import { signup, type SignedUp } from '../support/graph.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import { eventually } from '../support/temporal.ts';

let stack: TestStack;
let database: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  stack = await startStack('seats-and-credits');
  ({ database, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

const personalCode = (user: SignedUp, body: Record<string, unknown> = { maxUses: 10 }) =>
  api.request('/v1/invite-codes', { json: body, key: user.token });
const redeem = (code: string, user: SignedUp) =>
  api.request(`/v1/invite-codes/${encodeURIComponent(code)}/redeem`, { method: 'POST', key: user.token });
const mint = async (flavor: string, maxUses = 5) =>
  (await api.request('/v1/admin/invite-codes', { json: { flavor, maxUses }, key: TEST_KEYS.admin })).body.data[0]
    .code as string;
/** Admitted off the waitlist as a wave would (only admitted users make personal codes). */
const admit = (user: SignedUp) =>
  database.db.query(
    sql.unsafe`UPDATE users SET status = 'active', admitted_at = now(), admitted_via = 'wave' WHERE id = ${user.id}`,
  );
const statusOf = (id: string) =>
  database.db.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM users WHERE id = ${id}`);
const count = (query: ReturnType<typeof sql.unsafe>) =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM (${query}) q`);
const credits = (id: string) => balanceOf(database.db, userCredits(id));
const me = async (user: SignedUp) => (await api.request('/v1/waitlist/me', { key: user.token })).body;
const spend = (body: Record<string, unknown>, key = TEST_KEYS.server) =>
  api.request('/v1/credits/spend', { json: body, key });

describe('invite = a seat', () => {
  it("an admin's beta code admits a waitlisted redeemer at once, as an invite admission outside the waves; a free code does not", async () => {
    const wavesBefore = await count(sql.unsafe`SELECT 1 FROM wave_admissions`);
    const invitee = await signup(api);
    expect(await statusOf(invitee.id)).toBe('waitlisted');
    const code = await mint('beta');
    const res = await redeem(code, invitee);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ seat: { admitted: true, decision: 'admit' }, userStatus: 'active' });
    expect(await statusOf(invitee.id)).toBe('active');
    const view = await me(invitee);
    expect(view).toMatchObject({ status: 'active', position: null, admission: { via: 'invite', inviteCode: code } });
    expect(await count(sql.unsafe`SELECT 1 FROM wave_admissions`)).toBe(wavesBefore);
    const listed = await api.request('/v1/admin/invite-admissions?limit=200', { key: TEST_KEYS.admin });
    expect(listed.body.data).toContainEqual(
      expect.objectContaining({ userId: invitee.id, code, flavor: 'beta', seatOwnerId: null }),
    );

    // At signup, with the code: the signup's answer already shows the user active.
    const atSignup = await signup(api, { code: await mint('og') });
    expect(atSignup.body.user.status).toBe('active');

    const free = await signup(api);
    const freeRes = await redeem(await mint('free'), free);
    expect(freeRes.body).toMatchObject({
      seat: { admitted: false, decision: 'no_seat_flavor' },
      userStatus: 'waitlisted',
    });
    expect(await statusOf(free.id)).toBe('waitlisted');
  });

  it(`10 racing redemptions of one user's seat codes admit at most ${DEFAULT_SEAT_INVITES_PER_USER}; a code made after that grants no seat`, async () => {
    const owner = await signup(api);
    await admit(owner);
    const made = await personalCode(owner, { maxUses: 10 });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      grantsSeat: true,
      seatInvites: { allowance: DEFAULT_SEAT_INVITES_PER_USER, used: 0, left: DEFAULT_SEAT_INVITES_PER_USER },
    });
    const second = (await personalCode(owner, { maxUses: 10 })).body.code as string;
    const invitees = await Promise.all(Array.from({ length: 10 }, () => signup(api)));
    // Two codes of the same owner, redeemed at once: the owner's row lock counts the seats.
    const results = await Promise.all(invitees.map((u, i) => redeem(i % 2 ? second : made.body.code, u)));
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 201));
    const admitted = results.filter((r) => r.body.seat.admitted);
    expect(admitted).toHaveLength(DEFAULT_SEAT_INVITES_PER_USER);
    for (const r of results.filter((x) => !x.body.seat.admitted))
      expect(r.body).toMatchObject({ seat: { decision: 'allowance_spent' }, userStatus: 'waitlisted' });
    const active = await Promise.all(invitees.map((u) => statusOf(u.id)));
    expect(active.filter((s) => s === 'active')).toHaveLength(DEFAULT_SEAT_INVITES_PER_USER);
    expect(await count(sql.unsafe`SELECT 1 FROM invite_seats WHERE seat_owner_id = ${owner.id}`)).toBe(
      DEFAULT_SEAT_INVITES_PER_USER,
    );
    // Every redeemer still got the code's credits.
    for (const u of invitees) expect(await credits(u.id)).toBe(DEFAULT_FLAVORS.beta.defaultCredits);

    const seats = await api.request('/v1/invite-codes/seats', { key: owner.token });
    expect(seats.body).toEqual({
      allowance: DEFAULT_SEAT_INVITES_PER_USER,
      used: DEFAULT_SEAT_INVITES_PER_USER,
      left: 0,
    });
    const after = await personalCode(owner, { maxUses: 2 });
    expect(after.status).toBe(201);
    expect(after.body.grantsSeat).toBe(false);
    expect(after.body.note).toMatch(/no seat/);
    const late = await signup(api, { code: after.body.code });
    expect(late.body.user.status).toBe('waitlisted');
    expect(await credits(late.id)).toBe(DEFAULT_FLAVORS.beta.defaultCredits);

    // An admin's code with the owner as referrer admits regardless of the owner's allowance.
    const [house] = (
      await api.request('/v1/admin/invite-codes', {
        json: { flavor: 'beta', maxUses: 1, ownerUserId: owner.id },
        key: TEST_KEYS.admin,
      })
    ).body.data;
    const viaHouse = await signup(api, { code: house.code });
    expect(viaHouse.body.user.status).toBe('active');
  });
});

describe('credits both ways, vesting on activation', () => {
  it("a link signup gives the invitee credits and a head start (its own score line); the inviter's grant waits for activation", async () => {
    const earlier = await signup(api);
    const inviter = await signup(api);
    const invitee = await signup(api, { ref: inviter.id });
    expect(await credits(invitee.id)).toBe(DEFAULT_LINK_GRANTS.inviteeCredits);
    const view = await me(invitee);
    expect(view.score.points).toBe(DEFAULT_LINK_GRANTS.headStart);
    expect(view.score.explanation).toContainEqual(
      expect.objectContaining({ what: expect.stringMatching(/head start/), points: DEFAULT_LINK_GRANTS.headStart }),
    );
    // The head start puts the invitee ahead of someone who signed up earlier without one.
    expect(view.position).toBeLessThan((await me(earlier)).position);
    const movements = (await api.request('/v1/credits/me', { key: invitee.token })).body;
    expect(movements).toMatchObject({ balance: DEFAULT_LINK_GRANTS.inviteeCredits, nextCursor: null });
    expect(movements.movements).toEqual([
      expect.objectContaining({ credits: DEFAULT_LINK_GRANTS.inviteeCredits, kind: 'link_invitee_credits' }),
    ]);
  });

  it("a code's inviter gets their grant when the invitee activates, once; a fraud void takes back both sides and the head start", async () => {
    const inviter = await signup(api);
    await admit(inviter);
    const code = (await personalCode(inviter, { maxUses: 1 })).body.code as string;
    const invitee = await signup(api, { code });
    const edgeId = invitee.body.edge.id as string;
    expect(await credits(invitee.id)).toBe(DEFAULT_FLAVORS.beta.defaultCredits);
    expect(await credits(inviter.id)).toBe(0);
    expect((await me(invitee)).score.points).toBe(DEFAULT_FLAVORS.beta.headStart);

    const activated = await api.request('/v1/activations', { json: { userId: invitee.id }, key: TEST_KEYS.server });
    expect(activated.status).toBe(202);
    const rung1 = 250;
    const expected = rung1 + DEFAULT_FLAVORS.beta.inviterCredits;
    await eventually(async () => ((await credits(inviter.id)) === expected ? true : undefined));
    const grants = await count(
      sql.unsafe`SELECT 1 FROM ledger_transactions WHERE idempotency_key = ${`invite-inviter:${edgeId}`}`,
    );
    expect(grants).toBe(1);
    const page = (await api.request('/v1/credits/me?limit=1', { key: inviter.token })).body;
    expect(page.movements).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();
    const rest = (await api.request(`/v1/credits/me?limit=10&cursor=${page.nextCursor}`, { key: inviter.token })).body;
    expect([...page.movements, ...rest.movements].map((m: { kind: string }) => m.kind).sort()).toEqual([
      'invite_inviter_credits',
      'milestone_credits',
    ]);

    // The invitee spent 100 of their 500 before the void: the void takes back what is left (400).
    expect((await spend({ spendId: `pre-void-${edgeId}`, userId: invitee.id, credits: 100 })).status).toBe(201);
    const issuedBefore = await balanceOf(database.db, creditsIssued);
    const archived = await api.request(`/v1/admin/edges/${edgeId}/archive`, {
      json: { reason: 'fraud ring' },
      key: TEST_KEYS.admin,
    });
    expect(archived.status).toBe(201);
    await eventually(async () => ((await credits(inviter.id)) === 0 ? true : undefined));
    await eventually(async () => ((await credits(invitee.id)) === 0 ? true : undefined));
    // What went back: the inviter's 250 + 500 and the invitee's remaining 400.
    expect((await balanceOf(database.db, creditsIssued)) - issuedBefore).toBe(expected + 400);
    await eventually(async () => ((await me(invitee)).score.points === 0 ? true : undefined));
    const reversal = await database.db.oneFirst(sql.type(z.object({ shortfall: z.number() }))`
      SELECT (metadata ->> 'shortfall')::int AS shortfall FROM ledger_transactions
      WHERE kind = 'invite_credits_reversal' AND metadata ->> 'userId' = ${invitee.id}`);
    expect(reversal).toBe(100);
  });
});

describe('credits people can use', () => {
  it('a spend is idempotent by spendId, refuses a different body and an overdraft (nothing changes), and checks input', async () => {
    const user = await signup(api, { code: await mint('beta') });
    const balance = DEFAULT_FLAVORS.beta.defaultCredits;
    const body = { spendId: `build-${user.id}`, userId: user.id, credits: 120, reason: 'a build' };
    const first = await spend(body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ spendId: body.spendId, credits: 120, balanceAfter: balance - 120 });
    const again = await spend(body);
    expect([again.status, again.body]).toEqual([200, first.body]);
    const other = await spend({ ...body, credits: 121 });
    expect([other.status, other.body.error.code]).toEqual([409, 'spend_id_conflict']);
    const over = await spend({ spendId: `big-${user.id}`, userId: user.id, credits: balance });
    expect([over.status, over.body.error.code]).toEqual([409, 'insufficient_credits']);
    expect(await credits(user.id)).toBe(balance - 120);
    expect(await count(sql.unsafe`SELECT 1 FROM credit_spends WHERE user_id = ${user.id}`)).toBe(1);

    for (const bad of [
      { ...body, spendId: '' },
      { ...body, credits: 0 },
      { ...body, credits: -5 },
      { ...body, credits: 1.5 },
      { ...body, userId: 'nope' },
      { ...body, extra: true },
      { spendId: 'x', userId: user.id },
    ]) {
      const res = await spend(bad);
      expect([JSON.stringify(bad), res.status]).toEqual([JSON.stringify(bad), 400]);
    }
    const unknown = await spend({ ...body, spendId: 'unknown-user', userId: '00000000-0000-4000-8000-000000000001' });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'user_not_found']);
    expect((await spend(body, user.token)).status).toBe(403);
    expect(await credits(user.id)).toBe(balance - 120);
    const cursor = await api.request('/v1/credits/me?cursor=abc', { key: user.token });
    expect(cursor.status).toBe(400);
  });

  it('50 racing spends that together exceed the balance: never below zero, and the accepted ones sum to the drop', async () => {
    const user = await signup(api, { code: await mint('beta') });
    const balance = await credits(user.id);
    expect(balance).toBe(DEFAULT_FLAVORS.beta.defaultCredits);
    const each = 30;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => spend({ spendId: `race-${user.id}-${i}`, userId: user.id, credits: each })),
    );
    const accepted = results.filter((r) => r.status === 201);
    for (const r of results.filter((x) => x.status !== 201))
      expect([r.status, r.body.error.code]).toEqual([409, 'insufficient_credits']);
    const after = await credits(user.id);
    expect(after).toBeGreaterThanOrEqual(0);
    expect(accepted.length * each).toBe(balance - after);
    expect(accepted).toHaveLength(Math.floor(balance / each));
    const view = (await api.request('/v1/credits/me?limit=200', { key: user.token })).body;
    expect(view.balance).toBe(after);
    expect(view.movements.filter((m: { kind: string }) => m.kind === 'credit_spend')).toHaveLength(accepted.length);
  });
});
