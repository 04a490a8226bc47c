// Who brought whom, when someone tries to say so: first touch wins, nobody refers themselves.
import { inboxOf } from './email.ts';

export type AttributionOutcome = 'edge_written' | 'already_attributed' | 'self_referral';

export type AttributionCandidate = {
  referrer: { id: string; email: string };
  referee: { id: string; email: string };
  refereeHasEdge: boolean;
};

/** Same user, or the same inbox behind an alias (+tags, Gmail dots), is self-referral. */
export function isSelfReferral(referrer: { id: string; email: string }, referee: { id: string; email: string }): boolean {
  return referrer.id === referee.id || inboxOf(referrer.email) === inboxOf(referee.email);
}

export function attributionOutcome({ referrer, referee, refereeHasEdge }: AttributionCandidate): AttributionOutcome {
  if (isSelfReferral(referrer, referee)) return 'self_referral';
  return refereeHasEdge ? 'already_attributed' : 'edge_written';
}
