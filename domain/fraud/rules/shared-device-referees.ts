// One referrer's referees on one device: accounts made by one person to farm the referrer's
// rewards. Two people may share a family tablet, so fewer than the setting is a score.
import { mostShared, type EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';
import type { FraudSettings } from '../settings.ts';

export const SHARED_DEVICE_REFEREES = 'shared-device-referees';
export const SHARED_DEVICE_SCORE = 20;

export function sharedDeviceRefereesRule(settings: Pick<FraudSettings, 'sharedDeviceReferees'>): FraudRule<EdgeFacts> {
  return {
    name: SHARED_DEVICE_REFEREES,
    stages: ['edge_write', 'activation'],
    inputs: ['siblings.device'],
    evaluate(facts) {
      const top = mostShared(facts, 'device');
      if (!top || top.referees === 0) return allow(SHARED_DEVICE_REFEREES);
      const held = top.referees >= settings.sharedDeviceReferees;
      return {
        rule: SHARED_DEVICE_REFEREES,
        decision: held ? 'hold' : 'score',
        score: held ? 0 : SHARED_DEVICE_SCORE,
        reason: `${top.referees} other referee(s) of this referrer were seen on the referee's device${held ? ` (${settings.sharedDeviceReferees} or more hold)` : ''}.`,
        evidence: { device: top.value, otherReferees: top.referees, holdAt: settings.sharedDeviceReferees },
      };
    },
  };
}
