// A referrer's standing, settled where their referral's progress is stamped: the edge's stamp,
// the recount, the new score and place, and the milestone rewards commit together, so nobody reads
// the stamp without its consequences. Shared by the vesting activity, the void, and the verdicts
// that hold or clear an edge (db/verdicts.ts calls refreshStanding in its transaction).
import { sql, type DatabasePool, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import { DEFAULT_MAX_TOTAL_REWARD_BPS, DEFAULT_PARTNER_TERMS, type PartnerTerms } from '../domain/partner-settings.ts';
import {
  milestonePosting,
  milestoneReversalPosting,
  userCredits,
  type LedgerPosting,
} from '../domain/ledger-postings.ts';
import {
  creditsOf,
  creditsToTakeBack,
  entitlementsOf,
  grantSource,
  graduatesToPartner,
  graduationSource,
  hasWaveSkip,
  type GraduationOutcome,
  LADDER,
  rungsReached,
} from '../domain/milestones.ts';
import { waitlistScore } from '../domain/waitlist.ts';
import { lockedBalance, postTransactions } from './ledger.ts';
import {
  insertEntitlements,
  insertGrant,
  liveGrants,
  lockStanding,
  positionAt,
  recordStandingChange,
  referralCounts,
  revokeGrant,
  stampEdge,
} from './waitlist.ts';

export type StandingRefresh = {
  userId: string;
  vested: number;
  score: number;
  waveSkip: boolean;
  moved: boolean;
  rungsGranted: number[];
  /** Rungs whose grant was revoked: the count fell below them (a referral voided or held). */
  rungsRevoked: number[];
  /** A rung granted now graduated the referrer (the Legend rung, the first time): what it did to their tenant's partner row. */
  graduated: GraduationOutcome | null;
};

/**
 * Stamps an edge's progress (vested, voided) and settles its referrer's standing in one
 * transaction. Null: no such edge.
 */
export async function recordEdgeOutcome(
  db: DatabasePool,
  edgeId: string,
  outcome: { vestedAt: string } | { voidedAt: string },
): Promise<StandingRefresh | null> {
  return db.transaction(async (tx) => {
    const referrerId = await stampEdge(tx, edgeId, outcome);
    if (!referrerId) return null;
    return refreshStanding(
      tx,
      referrerId,
      'vestedAt' in outcome ? `referral vested (edge ${edgeId})` : `referral voided (edge ${edgeId})`,
    );
  });
}

/**
 * Recounts a referrer's referrals (vested, neither voided nor held), rewrites their score and place
 * (recording the move), and settles the milestone ladder against the count: every rung held above
 * it is revoked (its credits taken back through the ledger, as far as the user still has them; its
 * entitlements revoked), and every rung reached and not held is granted (again, if it was revoked
 * before): credits through the ledger (keyed by user, rung and grant), entitlements by row. Under
 * the user's row lock, inside the caller's transaction; running it again changes nothing, so the
 * activity or verdict that calls it can be retried. Null: no such user.
 */
export async function refreshStanding(
  tx: DatabaseTransactionConnection,
  referrerId: string,
  reason: string,
): Promise<StandingRefresh | null> {
  const userId = referrerId;
  const user = await lockStanding(tx, userId);
  if (!user) return null;
  const counts = await referralCounts(tx, userId);
  const score = waitlistScore(counts).points;
  const skip = hasWaveSkip(counts.vested);
  const moved = score !== user.waitlist_score || skip !== user.wave_skip;
  const waitlisted = user.status === 'waitlisted';
  const oldKey = { skip: user.wave_skip, score: user.waitlist_score, createdAt: user.created_at, id: user.id };
  const oldPosition = moved && waitlisted ? await positionAt(tx, oldKey) : null;
  const newPosition = moved && waitlisted ? await positionAt(tx, { ...oldKey, skip, score }) : null;
  if (moved || counts.vested !== user.vested_referrals) {
    await recordStandingChange(tx, {
      userId,
      vested: counts.vested,
      score,
      skip,
      oldScore: user.waitlist_score,
      oldSkip: user.wave_skip,
      oldPosition,
      newPosition,
      reason,
    });
  }

  const postings: LedgerPosting[] = [];
  const held = await liveGrants(tx, userId);

  // Rungs above the count: what their grant gave goes back, highest rung first.
  const rungsRevoked: number[] = [];
  const above = held.filter((g) => g.rung > counts.vested);
  if (above.length > 0) {
    let balance = await lockedBalance(tx, userCredits(userId));
    for (const g of above) {
      const rung = LADDER.find((r) => r.at === g.rung);
      const { takeBack, shortfall } = creditsToTakeBack(rung ? creditsOf(rung) : 0, balance);
      balance -= takeBack;
      const reversal = milestoneReversalPosting({
        userId,
        rung: g.rung,
        grant: g.grant_no,
        credits: takeBack,
        shortfall,
      });
      if (reversal) postings.push(reversal);
      await revokeGrant(tx, {
        userId,
        rung: g.rung,
        grant: g.grant_no,
        source: grantSource(g.rung, g.grant_no),
        reason,
        reversed: takeBack,
        shortfall,
      });
      rungsRevoked.push(g.rung);
    }
  }

  // Rungs reached and not held: granted (the next grant of a rung revoked before).
  const holding = new Set(held.filter((g) => g.rung <= counts.vested).map((g) => g.rung));
  const rungsGranted: number[] = [];
  let graduated: GraduationOutcome | null = null;
  for (const rung of rungsReached(counts.vested)) {
    if (holding.has(rung.at)) continue;
    const grant = await insertGrant(tx, userId, rung.at, counts.vested);
    if (grant === null) continue;
    rungsGranted.push(rung.at);
    const credits = milestonePosting({ userId, rung: rung.at, credits: creditsOf(rung), grant });
    if (credits) postings.push(credits);
    await insertEntitlements(
      tx,
      userId,
      user.activated_at,
      entitlementsOf(rung).map((e) => ({ ...e, source: grantSource(rung.at, grant) })),
    );
    if (graduatesToPartner(rung)) graduated = await graduateToPartner(tx, userId, rung.at, counts.vested);
  }
  await postTransactions(tx, postings);
  return { userId, vested: counts.vested, score, waveSkip: skip, moved, rungsGranted, rungsRevoked, graduated };
}

/** What a graduate's tenant becomes: a partner at the intentional rate, not the beta tier. */
export const GRADUATE_TERMS: PartnerTerms = DEFAULT_PARTNER_TERMS;

/**
 * The Legend rung graduates its referrer, once per user (partner_graduations is the key: a rung
 * revoked and reached again finds it and does nothing; null then). Their tenant becomes an approved
 * partner at GRADUATE_TERMS (approved by `milestone:<rung>`). A tenant that is a partner already is
 * never downgraded: rates below the intentional ones are raised (recurring too), unless cash and
 * credits would then add up to more than the default reward cap; its approval and status (an admin's
 * decisions) stay as they are. Inside the standing's transaction, under the user's row lock.
 */
async function graduateToPartner(
  tx: DatabaseTransactionConnection,
  userId: string,
  rung: number,
  vested: number,
): Promise<GraduationOutcome | null> {
  const done = await tx.exists(sql.unsafe`SELECT 1 FROM partner_graduations WHERE user_id = ${userId}`);
  if (done) return null;
  const t = GRADUATE_TERMS;
  const source = graduationSource(rung);
  const tenantId = await tx.oneFirst(
    sql.type(z.object({ tenant_id: z.uuid() }))`SELECT tenant_id FROM users WHERE id = ${userId}`,
  );
  const enrolled = await tx.maybeOneFirst(sql.type(z.object({ tenant_id: z.uuid() }))`
    INSERT INTO partners (tenant_id, sales_commission_bps, credit_commission_bps, recurring, recurring_months, referral_code,
                          payout_method, payout_threshold_cents, payout_frequency, approved, approved_by, approved_at)
    VALUES (${tenantId}, ${t.salesCommissionBps}, ${t.creditCommissionBps}, ${t.recurring}, ${t.recurringMonths}, random_referral_code(),
            ${t.payoutMethod}, ${t.payoutThresholdCents}, ${t.payoutFrequency}, true, ${source}, now())
    ON CONFLICT (tenant_id) DO NOTHING
    RETURNING tenant_id`);
  const outcome: GraduationOutcome =
    enrolled !== null
      ? 'enrolled'
      : (await tx.maybeOneFirst(sql.type(z.object({ tenant_id: z.uuid() }))`
        UPDATE partners SET sales_commission_bps = greatest(sales_commission_bps, ${t.salesCommissionBps}),
                            credit_commission_bps = greatest(credit_commission_bps, ${t.creditCommissionBps}),
                            recurring = recurring OR ${t.recurring},
                            recurring_months = greatest(recurring_months, ${t.recurringMonths}),
                            updated_at = now()
        WHERE tenant_id = ${tenantId}
          AND (sales_commission_bps < ${t.salesCommissionBps} OR credit_commission_bps < ${t.creditCommissionBps}
               OR (${t.recurring} AND NOT recurring) OR recurring_months < ${t.recurringMonths})
          AND greatest(sales_commission_bps, ${t.salesCommissionBps}) + greatest(credit_commission_bps, ${t.creditCommissionBps}) <= ${DEFAULT_MAX_TOTAL_REWARD_BPS}
        RETURNING tenant_id`)) !== null
        ? 'raised'
        : 'kept';
  await tx.query(sql.unsafe`
    INSERT INTO partner_graduations (user_id, tenant_id, source, outcome, vested_referrals)
    VALUES (${userId}, ${tenantId}, ${source}, ${outcome}, ${vested})`);
  return outcome;
}
