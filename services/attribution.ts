// Public validation of a code or ref, and tracking: binding a referral to a signed-in user.
import type { DatabasePool } from 'slonik';
import { isSelfReferral, type AttributionOutcome } from '../domain/attribution.ts';
import { normalizeInviteCode, whyUnusable } from '../domain/invite-flavors.ts';
import { findReferrer } from '../db/graph.ts';
import { attributeExistingUser, recordAttributionEvent, type EdgeRow } from '../db/edges.ts';
import { findInviteCode } from '../db/invite-codes.ts';
import { findUser } from '../db/users.ts';
import { assertReferrerUsable, edgeFrom, refSource } from './edge-from-referrer.ts';
import { invalid, notFound } from './errors.ts';

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

export type TrackDeps = { db: DatabasePool; activationWindowDays: number };

/** Binds the referral a code or ref names to the signed-in user: the edge, or the existing one. */
export async function trackReferral(
  deps: TrackDeps,
  input: { userId: string; ref: string; listingId?: string | undefined },
): Promise<{ outcome: AttributionOutcome; edge: EdgeRow }> {
  const user = await findUser(deps.db, input.userId);
  if (!user) throw notFound('user_not_found', 'The signed-in user no longer exists.');
  const referrer = await findReferrer(deps.db, input.ref);
  if (!referrer) throw invalid('referrer_not_found', `No user or partner is named by "${input.ref}".`, 'ref');
  assertReferrerUsable(referrer);
  const { source, code } = refSource(referrer, input.ref, input.listingId);
  if (isSelfReferral(referrer, user)) {
    await recordAttributionEvent(deps.db, {
      refereeId: user.id,
      referrerId: referrer.id,
      source,
      code: input.ref,
      outcome: 'self_referral',
      edgeId: null,
    });
    throw invalid('self_referral', 'A user cannot refer themselves.', 'ref');
  }
  return deps.db.transaction((tx) =>
    attributeExistingUser(tx, user.id, edgeFrom(referrer, source, code, deps.activationWindowDays)),
  );
}
