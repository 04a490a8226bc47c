// Many signups from one IP address in an hour. A campus or an office does that honestly, so it is
// a score; a burst scores high enough to hold together with any other kind of signal, never alone.
// It runs again at activation, so the score joins what that stage sees (the first edges of a
// scripted batch are screened with their later siblings known).
import type { EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';
import type { FraudSettings } from '../settings.ts';

export const IP_VELOCITY = 'ip-velocity';
export const IP_VELOCITY_SCORE = 30;
export const IP_BURST_SCORE = 80;

export function ipVelocityRule(
  settings: Pick<FraudSettings, 'ipSignupsPerHour' | 'ipBurstPerHour'>,
): FraudRule<EdgeFacts> {
  return {
    name: IP_VELOCITY,
    stages: ['edge_write', 'activation'],
    inputs: ['crowd.ip', 'referee.signupIp'],
    networkOnly: true,
    evaluate({ crowd, referee }) {
      const hour = crowd.ip?.hour ?? 0;
      if (hour <= settings.ipSignupsPerHour) return allow(IP_VELOCITY);
      const burst = hour > settings.ipBurstPerHour;
      return {
        rule: IP_VELOCITY,
        decision: 'score',
        score: burst ? IP_BURST_SCORE : IP_VELOCITY_SCORE,
        reason: `${hour} signups came from the referee's IP address in the hour up to theirs${burst ? ' (a burst)' : ''}.`,
        evidence: {
          ip: referee.signupIp,
          ...crowd.ip,
          perHour: settings.ipSignupsPerHour,
          burstPerHour: settings.ipBurstPerHour,
        },
      };
    },
  };
}
