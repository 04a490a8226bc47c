// Public validation of a code or ref; tracking: binding a referral to a signed-in user right after
// their signup; and later attribution, an admin's decision recorded with who and why.
import type { DatabasePool } from 'slonik';
import {
  DEFAULT_TRACK_WINDOW_MINUTES,
  isSelfReferral,
  trackWindowOpen,
  type EdgeAttribution,
} from '../domain/attribution.ts';
import { normalizeInviteCode, whyUnusable } from '../domain/invite-flavors.ts';
import { findReferrer, type Referrer } from '../db/graph.ts';
import {
  attributeExistingUser,
  findEdgeByReferee,
  recordAttributionEvent,
  type AttributionDecision,
  type EdgeRow,
} from '../db/edges.ts';
import { findInviteCode } from '../db/invite-codes.ts';
import { findUser, type UserRow } from '../db/users.ts';
import { assertReferrerUsable, edgeFrom, refSource } from './edge-from-referrer.ts';
import { conflict, invalid, notFound } from './errors.ts';

export type Validation =
  | { valid: true; type: 'partner' | 'user' | 'invite'; flavor?: string; usesLeft?: number; expiresAt?: Date | null }
  | { valid: false; reason: 'not_found' | 'expired' | 'exhausted' | 'partner_not_approved' };

export async function validateCode(db: DatabasePool, code: string): Promise<Validation> {
  const invite = await findInviteCode(db, normalizeInviteCode(code));
  if (invite) {
    const reason = whyUnusable(
      { uses: invite.uses, maxUses: invite.max_uses, expiresAt: invite.expires_at },
      new Date(),
    );
    return reason
      ? { valid: false, reason }
      : {
          valid: true,
          type: 'invite',
          flavor: invite.flavor,
          usesLeft: invite.max_uses - invite.uses,
          expiresAt: invite.expires_at,
        };
  }
  const referrer = await findReferrer(db, code);
  if (!referrer) return { valid: false, reason: 'not_found' };
  if (referrer.via_partner_code) {
    return referrer.partner_approved && referrer.partner_active
      ? { valid: true, type: 'partner' }
      : { valid: false, reason: 'partner_not_approved' };
  }
  return { valid: true, type: 'user' };
}

export type TrackDeps = {
  db: DatabasePool;
  activationWindowDays: number;
  /** TRACK_WINDOW_MINUTES; the default when left out. */
  trackWindowMinutes?: number;
};

/** The referrer a ref names, usable, and not the user themself (that attempt is recorded, then refused). */
async function referrerFor(
  deps: TrackDeps,
  user: UserRow,
  ref: string,
  listingId: string | undefined,
  decision: AttributionDecision | null,
): Promise<{ referrer: Referrer; source: EdgeRow['source']; code: string | null }> {
  const referrer = await findReferrer(deps.db, ref);
  if (!referrer) throw invalid('referrer_not_found', `No user or partner is named by "${ref}".`, 'ref');
  assertReferrerUsable(referrer);
  const { source, code } = refSource(referrer, ref, listingId);
  if (isSelfReferral(referrer, user)) {
    await recordAttributionEvent(deps.db, {
      refereeId: user.id,
      referrerId: referrer.id,
      source,
      code: ref,
      outcome: 'self_referral',
      edgeId: null,
      decision,
    });
    throw invalid('self_referral', 'A user cannot refer themselves.', 'ref');
  }
  return { referrer, source, code };
}

/**
 * Binds the referral a code or ref names to the signed-in user: the edge, or the existing one. A user
 * nobody referred may name their referrer only within TRACK_WINDOW_MINUTES of signing up; later the
 * attempt is recorded (`window_closed`), nothing else is written, and attribution is an admin's.
 */
export async function trackReferral(
  deps: TrackDeps,
  input: { userId: string; ref: string; listingId?: string | undefined },
): Promise<{ outcome: EdgeAttribution; edge: EdgeRow }> {
  const user = await findUser(deps.db, input.userId);
  if (!user) throw notFound('user_not_found', 'The signed-in user no longer exists.');
  const { referrer, source, code } = await referrerFor(deps, user, input.ref, input.listingId, null);
  const windowMinutes = deps.trackWindowMinutes ?? DEFAULT_TRACK_WINDOW_MINUTES;
  // The window only matters to a user without an edge: one with an edge is told which (first touch wins).
  if (!trackWindowOpen(user.created_at, new Date(), windowMinutes) && !(await findEdgeByReferee(deps.db, user.id))) {
    await recordAttributionEvent(deps.db, {
      refereeId: user.id,
      referrerId: referrer.id,
      source,
      code: input.ref,
      outcome: 'window_closed',
      edgeId: null,
    });
    throw conflict(
      'attribution_window_closed',
      `A referrer can be named only within ${windowMinutes} minutes of signing up; support can attribute you instead.`,
      'ref',
    );
  }
  return deps.db.transaction((tx) =>
    attributeExistingUser(tx, user.id, edgeFrom(referrer, source, code, deps.activationWindowDays)),
  );
}

/**
 * An admin attributes a user after signup: the edge through the same writer as every other, with
 * who decided it and why on the attribution event. First touch still wins: a user with an edge keeps
 * it and the attempt is recorded.
 */
export async function attributeByAdmin(
  deps: TrackDeps,
  input: { refereeId: string; ref: string; reason: string; decidedBy: string },
): Promise<{ outcome: EdgeAttribution; edge: EdgeRow }> {
  const user = await findUser(deps.db, input.refereeId);
  if (!user) throw notFound('user_not_found', `No user ${input.refereeId}.`, 'refereeId');
  const decision = { decidedBy: input.decidedBy, reason: input.reason };
  const { referrer, source, code } = await referrerFor(deps, user, input.ref, undefined, decision);
  return deps.db.transaction((tx) =>
    attributeExistingUser(tx, user.id, edgeFrom(referrer, source, code, deps.activationWindowDays), decision),
  );
}
