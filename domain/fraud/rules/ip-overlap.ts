// Referrer and referee seen from one IP address. Households, offices and campuses share an
// address, so this is a score that never holds an edge without another kind of signal.
import { shared, type EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';

export const IP_OVERLAP = 'ip-overlap';
export const IP_OVERLAP_SCORE = 40;

export const ipOverlapRule: FraudRule<EdgeFacts> = {
  name: IP_OVERLAP,
  stages: ['edge_write'],
  inputs: ['referrer.signals.ip', 'referee.signals.ip'],
  networkOnly: true,
  evaluate({ referrer, referee }) {
    const ips = shared(referee.signals, referrer.signals, 'ip');
    if (ips.length === 0) return allow(IP_OVERLAP);
    return {
      rule: IP_OVERLAP,
      decision: 'score',
      score: IP_OVERLAP_SCORE,
      reason: `Referrer and referee were seen from the same IP address (a household or an office shares one).`,
      evidence: { ips },
    };
  },
};
