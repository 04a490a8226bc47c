// The referee was seen on a device the referrer uses: one person with two accounts. Runs again at
// activation, when the referee builds an app (from the referrer's device, it is the referrer).
import { shared, type EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';

export const DEVICE_OVERLAP = 'device-overlap';

export const deviceOverlapRule: FraudRule<EdgeFacts> = {
  name: DEVICE_OVERLAP,
  stages: ['edge_write', 'activation'],
  inputs: ['referrer.signals.device', 'referee.signals.device'],
  evaluate({ referrer, referee }) {
    const devices = shared(referee.signals, referrer.signals, 'device');
    if (devices.length === 0) return allow(DEVICE_OVERLAP);
    return {
      rule: DEVICE_OVERLAP,
      decision: 'hold',
      score: 0,
      reason: `The referee was seen on the referrer's device.`,
      evidence: { devices },
    };
  },
};
