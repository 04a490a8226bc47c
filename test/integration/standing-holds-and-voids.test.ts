// Holes 1 and 2 of issue 14, on a real PostgreSQL: a held edge moves nothing on its referrer's
// waitlist score and milestone ladder (the recount leaves it out until cleared), and a void (or a
// hold of a vested edge) takes back the rungs the count fell below: their credits through the
// ledger, once per grant (what is left of them when some were spent, the shortfall recorded), their
// entitlements revoked, the grant marked revoked; reached again, a rung is granted again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createEdgeProgressActivities } from '../../activities/edge-progress.ts';
import { balanceOf, postTransaction } from '../../db/ledger.ts';
import { refreshStanding } from '../../db/standing.ts';
import { startEntitlementsOnActivation } from '../../db/waitlist.ts';
import { creditsIssued, userCredits } from '../../domain/ledger-postings.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { signUp } from '../../services/signups.ts';
import { waitlistView } from '../../services/waitlist.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { uniqueEmail } from '../support/graph.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const deps = () => ({ db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS });
const progress = () => createEdgeProgressActivities({ db: database.db });
const now = () => new Date().toISOString();

/** A referrer with `n` beta auto-enrolled referrals (their edges written, none vested yet). */
async function referrerWith(n: number): Promise<{ referrerId: string; edgeIds: string[] }> {
  const referrer = await signUp(deps(), { email: uniqueEmail('referrer') });
  const edgeIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const { edge } = await signUp(deps(), { email: uniqueEmail('referee'), ref: referrer.user.id });
    expect(edge!.kind).toBe('beta_auto');
    edgeIds.push(edge!.id);
  }
  return { referrerId: referrer.user.id, edgeIds };
}

/** A verdict's transaction as db/verdicts.ts keeps it: edges.held_at set or cleared, then the standing refreshed. */
async function setHold(edgeId: string, held: boolean) {
  return database.db.transaction(async (tx) => {
    const referrerId = await tx.oneFirst(sql.type(z.object({ referrer_id: z.uuid() }))`
      UPDATE edges SET held_at = ${held ? sql.fragment`coalesce(held_at, now())` : sql.fragment`NULL`} WHERE id = ${edgeId} RETURNING referrer_id`);
    return refreshStanding(tx, referrerId, held ? `referral held (edge ${edgeId})` : `hold cleared (edge ${edgeId})`);
  });
}

const credits = (userId: string) => balanceOf(database.db, userCredits(userId));

const grants = (userId: string) =>
  database.db.any(sql.type(
    z.object({
      rung: z.number(),
      grant_no: z.number(),
      revoked: z.boolean(),
      credits_reversed: z.number().nullable(),
      credits_shortfall: z.number().nullable(),
    }),
  )`
    SELECT rung, grant_no, revoked_at IS NOT NULL AS revoked, credits_reversed, credits_shortfall
    FROM milestone_grants WHERE user_id = ${userId} ORDER BY rung, grant_no`);

const ledgerKeys = (userId: string) =>
  database.db.anyFirst(sql.type(z.object({ idempotency_key: z.string() }))`
    SELECT idempotency_key FROM ledger_transactions WHERE metadata ->> 'userId' = ${userId} ORDER BY created_at, idempotency_key`);

describe('hole 1: a held edge moves nothing on the ladder or the score', () => {
  it('a held referral vesting earns no score and no rung; cleared, it counts; held again once vested, its score and rung go at once', async () => {
    const { referrerId, edgeIds } = await referrerWith(2);
    const [held, other] = edgeIds as [string, string];

    // Held before it vests (a rule at edge write, say): vesting it moves nothing.
    await setHold(held, true);
    const vested = await database.db.transaction(async (tx) => {
      await tx.query(sql.unsafe`UPDATE edges SET vested_at = now() WHERE id = ${held}`);
      return refreshStanding(tx, referrerId, 'test: vested while held');
    });
    expect(vested).toMatchObject({ vested: 0, score: 0, rungsGranted: [] });
    let view = await waitlistView(database.db, referrerId);
    expect(view.referrals).toEqual({ vested: 0, waiting: 1, expired: 0, held: 1 });
    expect(view.score.points).toBe(0);
    expect(view.score.lines.at(-1)).toMatchObject({ count: 1, points: 0, what: expect.stringMatching(/held/) });
    expect(view.milestones.reached).toEqual([]);
    expect(await credits(referrerId)).toBe(0);

    // Cleared: it counts, and rung 1 is granted.
    expect(await setHold(held, false)).toMatchObject({ vested: 1, score: 10, rungsGranted: [1], rungsRevoked: [] });
    expect(await credits(referrerId)).toBe(250);

    // Held again, now vested: its score and its rung go at once.
    expect(await setHold(held, true)).toMatchObject({ vested: 0, score: 0, rungsGranted: [], rungsRevoked: [1] });
    view = await waitlistView(database.db, referrerId);
    expect(view).toMatchObject({
      score: { points: 0 },
      referrals: { vested: 0, held: 1 },
      milestones: { reached: [] },
    });
    expect(view.entitlements).toEqual([]);
    expect(await credits(referrerId)).toBe(0);

    // The other referral vests while the first is held: rung 1 again, as its second grant.
    await progress().recordEdgeVested({ edgeId: other, vestedAt: now() });
    expect(await credits(referrerId)).toBe(250);
    expect(await grants(referrerId)).toEqual([
      { rung: 1, grant_no: 1, revoked: true, credits_reversed: 250, credits_shortfall: 0 },
      { rung: 1, grant_no: 2, revoked: false, credits_reversed: null, credits_shortfall: null },
    ]);
    expect(await ledgerKeys(referrerId)).toEqual([
      `milestone:${referrerId}:1`,
      `milestone-reversal:${referrerId}:1:1`,
      `milestone:${referrerId}:1:2`,
    ]);
    // A refresh run again (a retried verdict or activity) changes nothing.
    expect(await setHold(held, true)).toMatchObject({ vested: 1, rungsGranted: [], rungsRevoked: [] });
    expect(await credits(referrerId)).toBe(250);
  });
});

describe('hole 2: a void takes back what the voided referral earned on the ladder', () => {
  it('voiding the third vested referral revokes rung 3: its 1,000 credits, its Pro preview, once; vesting a third again grants it again', async () => {
    const { referrerId, edgeIds } = await referrerWith(4);
    for (const edgeId of edgeIds.slice(0, 3)) await progress().recordEdgeVested({ edgeId, vestedAt: now() });
    expect(await credits(referrerId)).toBe(1_250);
    let view = await waitlistView(database.db, referrerId);
    expect(view.entitlements.map((e) => e.kind)).toEqual(['badge', 'pro_preview']);

    await progress().recordEdgeVoided({ edgeId: edgeIds[0]!, voidedAt: now() });
    await progress().recordEdgeVoided({ edgeId: edgeIds[0]!, voidedAt: now() }); // a retry: nothing twice
    expect(await credits(referrerId)).toBe(250);
    view = await waitlistView(database.db, referrerId);
    expect(view).toMatchObject({
      score: { points: 20 },
      referrals: { vested: 2 },
      milestones: { reached: [{ at: 1 }], next: { at: 3, referralsNeeded: 1 } },
    });
    // The message is true again: one more vested referral earns rung 3 again.
    expect(view.messages.find((m) => m.kind === 'next_milestone')?.text).toBe(
      "You're 1 referral from 1,000 credits and a 7-day Pro preview.",
    );
    expect(view.entitlements.map((e) => e.kind)).toEqual(['badge']);
    const preview = await database.db.one(sql.type(z.object({ revoked_at: z.date().nullable(), ends_at: z.date() }))`
      SELECT revoked_at, ends_at FROM entitlements WHERE user_id = ${referrerId} AND kind = 'pro_preview'`);
    expect(preview.revoked_at).not.toBeNull();
    expect(preview.ends_at.getTime()).toBeLessThanOrEqual(Date.now());

    await progress().recordEdgeVested({ edgeId: edgeIds[3]!, vestedAt: now() });
    expect(await credits(referrerId)).toBe(1_250);
    expect((await grants(referrerId)).filter((g) => g.rung === 3)).toEqual([
      { rung: 3, grant_no: 1, revoked: true, credits_reversed: 1_000, credits_shortfall: 0 },
      { rung: 3, grant_no: 2, revoked: false, credits_reversed: null, credits_shortfall: null },
    ]);
    view = await waitlistView(database.db, referrerId);
    expect(view.entitlements.filter((e) => e.kind === 'pro_preview')).toEqual([
      expect.objectContaining({ source: 'milestone:3:2' }),
    ]);
    expect(await ledgerKeys(referrerId)).toContain(`milestone-reversal:${referrerId}:3:1`);
  });

  it('credits already spent: the reversal takes what is left (never below zero) and records the shortfall', async () => {
    const { referrerId, edgeIds } = await referrerWith(1);
    await progress().recordEdgeVested({ edgeId: edgeIds[0]!, vestedAt: now() });
    // The user spends 200 of their 250 credits on building.
    await postTransaction(database.db, {
      key: `test-spend:${referrerId}`,
      kind: 'test_spend',
      metadata: {},
      entries: [
        { ...userCredits(referrerId), amount: -200 },
        { ...creditsIssued, amount: 200 },
      ],
    });
    await progress().recordEdgeVoided({ edgeId: edgeIds[0]!, voidedAt: now() });
    expect(await credits(referrerId)).toBe(0);
    expect(await grants(referrerId)).toEqual([
      { rung: 1, grant_no: 1, revoked: true, credits_reversed: 50, credits_shortfall: 200 },
    ]);
    const reversal = await database.db.one(sql.type(z.object({ metadata: z.record(z.string(), z.unknown()) }))`
      SELECT metadata FROM ledger_transactions WHERE idempotency_key = ${`milestone-reversal:${referrerId}:1:1`}`);
    expect(reversal.metadata).toMatchObject({ rung: 1, grant: 1, shortfall: 200 });
  });

  it('a Pro month waiting for the referrer to build an app never starts once its rung is revoked', async () => {
    const { referrerId, edgeIds } = await referrerWith(10);
    for (const edgeId of edgeIds) await progress().recordEdgeVested({ edgeId, vestedAt: now() });
    const pro = () =>
      database.db.maybeOne(sql.type(z.object({ starts_at: z.date().nullable(), revoked_at: z.date().nullable() }))`
        SELECT starts_at, revoked_at FROM entitlements WHERE user_id = ${referrerId} AND source = 'milestone:10' AND kind = 'pro'`);
    expect(await pro()).toEqual({ starts_at: null, revoked_at: null });
    await progress().recordEdgeVoided({ edgeId: edgeIds[9]!, voidedAt: now() });
    await startEntitlementsOnActivation(database.db, referrerId, new Date());
    expect(await pro()).toEqual({ starts_at: null, revoked_at: expect.any(Date) });
    // The wave skip of rung 5 stays: the count (9) is still above it.
    expect((await waitlistView(database.db, referrerId)).waveSkip).toBe(true);
  });
});
