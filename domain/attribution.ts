// Who brought whom, when someone tries to say so: first touch wins, nobody refers themselves, and a
// user binds a referrer themself only at signup (later attribution is an admin's recorded decision).
import { inboxOf } from './email.ts';

export type AttributionOutcome = 'edge_written' | 'already_attributed' | 'self_referral' | 'window_closed';
/** What an attribution that went through did: wrote the edge, or found the one written first. */
export type EdgeAttribution = Extract<AttributionOutcome, 'edge_written' | 'already_attributed'>;

/** Same user, or the same inbox behind an alias (+tags, Gmail dots), is self-referral. */
export function isSelfReferral(
  referrer: { id: string; email: string },
  referee: { id: string; email: string },
): boolean {
  return referrer.id === referee.id || inboxOf(referrer.email) === inboxOf(referee.email);
}

/** How long after signup an unattributed user may still name who brought them (TRACK_WINDOW_MINUTES). */
export const DEFAULT_TRACK_WINDOW_MINUTES = 60;

/**
 * Whether a user who signed up at `signedUpAt` may still bind a referrer themself at `now`: only in
 * the window right after signup (the window's last instant included). Later, a referrer named by the
 * user could be anyone who asked them to, so it is an admin's decision, recorded with who and why.
 */
export function trackWindowOpen(signedUpAt: Date, now: Date, windowMinutes: number): boolean {
  return now.getTime() - signedUpAt.getTime() <= windowMinutes * 60_000;
}
