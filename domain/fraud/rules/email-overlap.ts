// Referrer and referee behind one inbox (+tags everywhere, dots where Gmail ignores them, case):
// one person referring themselves. Addresses that only look alike elsewhere are different people.
import { inboxOf } from '../../email.ts';
import type { EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';

export const EMAIL_OVERLAP = 'email-overlap';

export const emailOverlapRule: FraudRule<EdgeFacts> = {
  name: EMAIL_OVERLAP,
  stages: ['edge_write'],
  inputs: ['referrer.email', 'referee.email'],
  evaluate({ referrer, referee }) {
    const inbox = inboxOf(referee.email);
    if (inboxOf(referrer.email) !== inbox) return allow(EMAIL_OVERLAP);
    return {
      rule: EMAIL_OVERLAP,
      decision: 'hold',
      score: 0,
      reason: `Referrer and referee addresses deliver to one inbox (${inbox}).`,
      evidence: { inbox, referrerEmail: referrer.email, refereeEmail: referee.email },
    };
  },
};
