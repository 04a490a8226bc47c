// One referrer's referees from one IP address: a family or an office looks the same, so it is a
// score only, and one that never holds without another kind of signal.
// It runs again at activation, when the referees who came after this one are known: the first of a
// batch from one address is seen with the rest (and still never held on this alone).
import { mostShared, type EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';
import type { FraudSettings } from '../settings.ts';

export const SHARED_IP_REFEREES = 'shared-ip-referees';
export const SHARED_IP_SCORE = 30;

export function sharedIpRefereesRule(settings: Pick<FraudSettings, 'sharedIpReferees'>): FraudRule<EdgeFacts> {
  return {
    name: SHARED_IP_REFEREES,
    stages: ['edge_write', 'activation'],
    inputs: ['siblings.ip'],
    networkOnly: true,
    evaluate(facts) {
      const top = mostShared(facts, 'ip');
      if (!top || top.referees < settings.sharedIpReferees) return allow(SHARED_IP_REFEREES);
      return {
        rule: SHARED_IP_REFEREES,
        decision: 'score',
        score: SHARED_IP_SCORE,
        reason: `${top.referees} other referees of this referrer signed up from the referee's IP address.`,
        evidence: { ip: top.value, otherReferees: top.referees, scoreAt: settings.sharedIpReferees },
      };
    },
  };
}
