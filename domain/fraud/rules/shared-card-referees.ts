// One referrer's referees paying with one card: one buyer behind several accounts, buying through
// the referrer. A company card may pay for two colleagues, so fewer than the setting is a score.
import type { EdgeFacts } from '../facts.ts';
import { allow, STAGE, type FraudRule } from '../rule.ts';
import type { FraudSettings } from '../settings.ts';

export const SHARED_CARD_REFEREES = 'shared-card-referees';
export const SHARED_CARD_SCORE = 40;

export function sharedCardRefereesRule(settings: Pick<FraudSettings, 'sharedCardReferees'>): FraudRule<EdgeFacts> {
  return {
    name: SHARED_CARD_REFEREES,
    stages: [STAGE.payment],
    inputs: ['payment.fingerprint', 'siblings.card'],
    evaluate({ payment, siblings }) {
      const card = payment?.fingerprint;
      const others = card ? (siblings.find((s) => s.kind === 'card' && s.value === card)?.referees ?? 0) : 0;
      if (!card || others === 0) return allow(SHARED_CARD_REFEREES);
      const held = others >= settings.sharedCardReferees;
      return {
        rule: SHARED_CARD_REFEREES,
        decision: held ? 'hold' : 'score',
        score: held ? 0 : SHARED_CARD_SCORE,
        reason: `${others} other referee(s) of this referrer paid with the same card${held ? ` (${settings.sharedCardReferees} or more hold)` : ''}.`,
        evidence: { paymentId: payment.id, card, otherReferees: others, holdAt: settings.sharedCardReferees },
      };
    },
  };
}
