// Many signups from one network (autonomous system) in an hour: a data centre running scripts, or
// a busy ISP. A score only, and one that never holds without another kind of signal.
import type { EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';
import type { FraudSettings } from '../settings.ts';

export const NETWORK_VELOCITY = 'network-velocity';
export const NETWORK_VELOCITY_SCORE = 20;

export function networkVelocityRule(settings: Pick<FraudSettings, 'networkSignupsPerHour'>): FraudRule<EdgeFacts> {
  return {
    name: NETWORK_VELOCITY,
    stages: ['edge_write'],
    inputs: ['crowd.network', 'referee.signupNetwork'],
    networkOnly: true,
    evaluate({ crowd, referee }) {
      const hour = crowd.network?.hour ?? 0;
      if (hour <= settings.networkSignupsPerHour) return allow(NETWORK_VELOCITY);
      return {
        rule: NETWORK_VELOCITY,
        decision: 'score',
        score: NETWORK_VELOCITY_SCORE,
        reason: `${hour} signups came from the referee's network (${referee.signupNetwork}) in the hour up to theirs.`,
        evidence: { network: referee.signupNetwork, ...crowd.network, perHour: settings.networkSignupsPerHour },
      };
    },
  };
}
