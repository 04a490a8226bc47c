// Building an app takes a person minutes; an activation within seconds of the signup is a script
// finishing a fake account. A score: with another signal it holds.
import type { EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';
import type { FraudSettings } from '../settings.ts';

export const QUICK_ACTIVATION = 'quick-activation';
export const QUICK_ACTIVATION_SCORE = 30;

export function quickActivationRule(settings: Pick<FraudSettings, 'quickActivationSeconds'>): FraudRule<EdgeFacts> {
  return {
    name: QUICK_ACTIVATION,
    stages: ['activation'],
    inputs: ['referee.signedUpAt', 'referee.activatedAt'],
    evaluate({ referee }) {
      if (!referee.activatedAt) return allow(QUICK_ACTIVATION);
      const seconds = Math.max(0, Math.floor((referee.activatedAt.getTime() - referee.signedUpAt.getTime()) / 1000));
      if (seconds >= settings.quickActivationSeconds) return allow(QUICK_ACTIVATION);
      return {
        rule: QUICK_ACTIVATION,
        decision: 'score',
        score: QUICK_ACTIVATION_SCORE,
        reason: `The referee activated ${seconds} s after signing up (under ${settings.quickActivationSeconds} s).`,
        evidence: { seconds, under: settings.quickActivationSeconds },
      };
    },
  };
}
