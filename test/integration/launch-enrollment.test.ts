// Hole 3 of issue 14, on a real PostgreSQL: the launch flip enrolls as approved partners only the
// referrers with at least one beta edge that vested and is neither voided nor held; referrers whose
// beta edges all were voided, expired, are held or never vested are not enrolled.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { createEdgeProgressActivities } from '../../activities/edge-progress.ts';
import { LAUNCH_APPROVER } from '../../contracts/launch-flip.ts';
import { enrollBetaReferrers, flipToPublic } from '../../db/launch.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { betaReferrerTerms } from '../../domain/launch.ts';
import { createPartner } from '../../services/partners.ts';
import { signUp } from '../../services/signups.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { uniqueEmail } from '../support/graph.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

type Fate = 'vested' | 'voided' | 'vested_then_voided' | 'expired' | 'waiting' | 'held';

/** A referrer whose beta edges end up as told, through the activities the edge workflow records them with. */
async function referrer(...fates: Fate[]): Promise<{ userId: string; tenantId: string }> {
  const deps = { db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS };
  const progress = createEdgeProgressActivities({ db: database.db });
  const at = new Date().toISOString();
  const r = await signUp(deps, { email: uniqueEmail('referrer') });
  for (const fate of fates) {
    const { edge } = await signUp(deps, { email: uniqueEmail('referee'), ref: r.user.id });
    expect(edge!.kind).toBe('beta_auto');
    const edgeId = edge!.id;
    if (fate === 'vested' || fate === 'vested_then_voided' || fate === 'held')
      await progress.recordEdgeVested({ edgeId, vestedAt: at });
    if (fate === 'voided' || fate === 'vested_then_voided') await progress.recordEdgeVoided({ edgeId, voidedAt: at });
    if (fate === 'expired') await progress.recordEdgeExpired({ edgeId, expiredAt: at });
    // A hold as db/verdicts.ts keeps it on the edge.
    if (fate === 'held') await database.db.query(sql.unsafe`UPDATE edges SET held_at = now() WHERE id = ${edgeId}`);
  }
  return { userId: r.user.id, tenantId: r.user.tenant_id };
}

const partnerOf = (tenantId: string) =>
  database.db.maybeOne(sql.type(z.object({ approved: z.boolean(), approved_by: z.string().nullable() }))`
    SELECT approved, approved_by FROM partners WHERE tenant_id = ${tenantId}`);

describe('hole 3: the launch flip enrolls only referrers with a vested, non-voided, non-held beta edge', () => {
  it('enrolls those with one, and none whose beta edges were all voided, expired, held or never vested', async () => {
    const vested = await referrer('vested');
    const mixed = await referrer('vested_then_voided', 'expired', 'vested', 'waiting');
    const allVoided = await referrer('voided', 'vested_then_voided');
    const allExpired = await referrer('expired', 'expired');
    const neverVested = await referrer('waiting', 'waiting');
    const held = await referrer('held');
    const heldOrGone = await referrer('held', 'vested_then_voided', 'expired');
    // A referrer that is a partner already keeps its row (an admin's decision stands).
    const existing = await referrer('vested');
    await createPartner({ db: database.db, publicBaseUrl: 'http://localhost' }, { tenantId: existing.tenantId });

    // Vesting before the flip enrolls nobody.
    expect(await partnerOf(vested.tenantId)).toBeNull();

    await flipToPublic(database.db, {
      startedBy: 'test',
      workflowId: 'launch-flip:enrollment-test',
      pageSize: null,
      pagesPerRun: null,
    });
    const terms = betaReferrerTerms(1_000);
    expect(await enrollBetaReferrers(database.db, terms, LAUNCH_APPROVER)).toEqual({ enrolled: 2, wanted: 2 });

    for (const r of [vested, mixed])
      expect(await partnerOf(r.tenantId)).toEqual({ approved: true, approved_by: 'launch-flip' });
    for (const r of [allVoided, allExpired, neverVested, held, heldOrGone])
      expect(await partnerOf(r.tenantId)).toBeNull();
    expect(await partnerOf(existing.tenantId)).toEqual({ approved: false, approved_by: null });

    // Run again (a retried activity): nobody is enrolled twice, and the record counts the two once.
    expect(await enrollBetaReferrers(database.db, terms, LAUNCH_APPROVER)).toEqual({ enrolled: 0, wanted: 0 });
    const recorded = await database.db.oneFirst(
      sql.type(z.object({ partners_enrolled: z.number() }))`SELECT partners_enrolled FROM launch`,
    );
    expect(recorded).toBe(2);
  });

  it('after the flip, a beta edge that vests enrolls its referrer then; a held one does not', async () => {
    const progress = createEdgeProgressActivities({ db: database.db, betaAutoBps: 1_200 });
    const deps = { db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS };
    // Edges written in beta, waiting for activation when the flip came (written as the beta writer did).
    const edgeIn = async () => {
      const r = await signUp(deps, { email: uniqueEmail('late-referrer') });
      const { edge } = await signUp(deps, { email: uniqueEmail('late-referee'), ref: r.user.id });
      return { tenantId: r.user.tenant_id, edgeId: edge!.id };
    };
    await database.db.query(sql.unsafe`UPDATE program SET phase = 'beta'`);
    const late = await edgeIn();
    const heldLate = await edgeIn();
    await database.db.query(sql.unsafe`UPDATE program SET phase = 'public'`);

    await database.db.query(sql.unsafe`UPDATE edges SET held_at = now() WHERE id = ${heldLate.edgeId}`);
    // A held edge does not vest (its workflow waits for the clearance); vesting it anyway is refused
    // for as long as the hold lasts (the inviter's grant waits for it), and enrolls nobody.
    await expect(
      progress.recordEdgeVested({ edgeId: heldLate.edgeId, vestedAt: new Date().toISOString() }),
    ).rejects.toMatchObject({ type: 'EdgeHeld' });
    expect(await partnerOf(heldLate.tenantId)).toBeNull();

    await progress.recordEdgeVested({ edgeId: late.edgeId, vestedAt: new Date().toISOString() });
    await progress.recordEdgeVested({ edgeId: late.edgeId, vestedAt: new Date().toISOString() }); // a retry
    expect(await partnerOf(late.tenantId)).toEqual({ approved: true, approved_by: 'launch-flip' });
    const rates = await database.db.one(sql.type(
      z.object({ sales_commission_bps: z.number(), credit_commission_bps: z.number() }),
    )`
      SELECT sales_commission_bps, credit_commission_bps FROM partners WHERE tenant_id = ${late.tenantId}`);
    expect(rates).toEqual({ sales_commission_bps: 1_200, credit_commission_bps: 0 });
    expect(
      await database.db.oneFirst(
        sql.type(z.object({ partners_enrolled: z.number() }))`SELECT partners_enrolled FROM launch`,
      ),
    ).toBe(3);
  });
});
