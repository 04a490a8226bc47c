// Who brought whom, when someone tries to say so: first touch wins, nobody refers themselves.
import { inboxOf } from './email.ts';

export type AttributionOutcome = 'edge_written' | 'already_attributed' | 'self_referral';

/** Same user, or the same inbox behind an alias (+tags, Gmail dots), is self-referral. */
export function isSelfReferral(
  referrer: { id: string; email: string },
  referee: { id: string; email: string },
): boolean {
  return referrer.id === referee.id || inboxOf(referrer.email) === inboxOf(referee.email);
}
