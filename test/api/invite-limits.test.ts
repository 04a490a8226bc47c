// Hole 4 of issue 14 on the real stack: invite codes could be farmed (a second, unverified account
// minted 50 personal codes and redeemed them all: 25,000 credits in one second). Now a person
// redeems one invite ever (a unique index: racing redemptions of different codes, one wins), only
// an admitted user makes personal codes, at most PERSONAL_CODES_PER_USER of them with at most
// PERSONAL_CODE_MAX_USES uses each, and the inviter gets nothing at redemption: their side is the
// edge, which earns on the ladder when the invitee builds an app.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { balanceOf } from '../../db/ledger.ts';
import { userCredits } from '../../domain/ledger-postings.ts';
import { TEST_KEYS, type TestApi } from '../support/app.ts';
import type { TestDatabase } from '../support/database.ts';
import { signup, type SignedUp } from '../support/graph.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import { eventually } from '../support/temporal.ts';

let stack: TestStack;
let database: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  stack = await startStack('invite-limits');
  ({ database, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

const personalCode = (user: SignedUp, body: Record<string, unknown> = { maxUses: 10 }) =>
  api.request('/v1/invite-codes', { json: body, key: user.token });
const redeem = (code: string, user: SignedUp) =>
  api.request(`/v1/invite-codes/${encodeURIComponent(code)}/redeem`, { method: 'POST', key: user.token });
/** Admitted off the waitlist (what admitting a wave sets). */
const admit = (user: SignedUp) =>
  database.db.query(sql.unsafe`UPDATE users SET status = 'active', admitted_at = now() WHERE id = ${user.id}`);
const count = (query: ReturnType<typeof sql.unsafe>) =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM (${query}) q`);
const credits = (user: SignedUp) => balanceOf(database.db, userCredits(user.id));

describe('hole 4: invite codes cannot be farmed', () => {
  it('the attack: 50 personal codes from a second, unverified account are refused; an admitted one gets 3; their redeemer gets one invite', async () => {
    const attacker = await signup(api);
    const second = await signup(api); // waitlisted: not admitted, never verified
    const minted = await Promise.all(Array.from({ length: 50 }, () => personalCode(second)));
    expect(minted.map((r) => [r.status, r.body.error?.code])).toEqual(
      Array.from({ length: 50 }, () => [403, 'not_admitted']),
    );
    expect(await count(sql.unsafe`SELECT 1 FROM invite_codes WHERE owner_user_id = ${second.id}`)).toBe(0);

    // Admitted, the same 50 requests racing make exactly 3 (the default PERSONAL_CODES_PER_USER).
    await admit(second);
    const tooManyUses = await personalCode(second, { maxUses: 11 });
    expect([tooManyUses.status, tooManyUses.body.error.param]).toEqual([400, 'maxUses']);
    const raced = await Promise.all(Array.from({ length: 50 }, () => personalCode(second)));
    const made = raced.filter((r) => r.status === 201).map((r) => r.body.code as string);
    expect(made).toHaveLength(3);
    expect(raced.filter((r) => r.status !== 201).every((r) => r.body.error.code === 'personal_code_limit')).toBe(true);
    expect(raced.filter((r) => r.status !== 201).every((r) => r.status === 409)).toBe(true);
    expect(await count(sql.unsafe`SELECT 1 FROM invite_codes WHERE owner_user_id = ${second.id}`)).toBe(3);

    // The attacker redeems all three at once, and then an admin's code: one redemption, ever.
    const redeemed = await Promise.all(made.map((code) => redeem(code, attacker)));
    expect(redeemed.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of redeemed.filter((x) => x.status !== 201))
      expect([r.status, r.body.error.code]).toEqual([409, 'invite_already_redeemed']);
    const [house] = (
      await api.request('/v1/admin/invite-codes', { json: { flavor: 'og', maxUses: 5 }, key: TEST_KEYS.admin })
    ).body.data;
    const later = await redeem(house.code, attacker);
    expect([later.status, later.body.error.code]).toEqual([409, 'invite_already_redeemed']);
    expect(await count(sql.unsafe`SELECT 1 FROM invite_redemptions WHERE user_id = ${attacker.id}`)).toBe(1);
    // Credits bounded: the one code's 500, not 25,000; the inviter got nothing at redemption.
    expect(await credits(attacker)).toBe(500);
    expect(await credits(second)).toBe(0);
    expect(await count(sql.unsafe`SELECT 1 FROM milestone_grants WHERE user_id = ${second.id}`)).toBe(0);
  });

  it('an invite redeemed at signup is the one: a second one after it is refused', async () => {
    const owner = await signup(api);
    await admit(owner);
    const code = (await personalCode(owner, { maxUses: 2 })).body.code;
    const invitee = await signup(api, { code });
    expect(invitee.body.redemption).toMatchObject({ creditsGranted: 500 });
    const [other] = (
      await api.request('/v1/admin/invite-codes', { json: { flavor: 'free', maxUses: 5 }, key: TEST_KEYS.admin })
    ).body.data;
    const again = await redeem(other.code, invitee);
    expect([again.status, again.body.error.code]).toEqual([409, 'invite_already_redeemed']);
    expect(await credits(invitee)).toBe(500);
  });

  it("the inviter's side vests when the invitee builds an app: nothing at redemption, rung 1 at activation", async () => {
    const inviter = await signup(api);
    await admit(inviter);
    const code = (await personalCode(inviter, { maxUses: 1 })).body.code;
    const invitee = await signup(api);
    const res = await redeem(code, invitee);
    expect(res.status).toBe(201);
    expect(res.body.edge).toMatchObject({ referrerId: inviter.id, source: 'invite_code', kind: 'beta_auto' });
    expect(await credits(invitee)).toBe(500); // the invitee's own grant stays at redemption
    expect(await credits(inviter)).toBe(0);
    const me = async () => (await api.request('/v1/waitlist/me', { key: inviter.token })).body;
    expect((await me()).referrals).toMatchObject({ vested: 0, waiting: 1 });

    const activated = await api.request('/v1/activations', { json: { userId: invitee.id }, key: TEST_KEYS.server });
    expect(activated.status).toBe(202);
    await eventually(async () => ((await me()).referrals.vested === 1 ? true : undefined));
    // Rung 1's 250, and the invite's own grant to its inviter (issue 16), posted by the same activity.
    await eventually(async () => ((await credits(inviter)) === 250 + 500 ? true : undefined));
    expect((await me()).milestones.reached.map((r: { at: number }) => r.at)).toEqual([1]);
  });
});
