// The referee paid with a card the referrer pays with: a self-purchase through a second account.
// A customer paying with their own card is not the referrer's card.
import type { EdgeFacts } from '../facts.ts';
import { allow, STAGE, type FraudRule } from '../rule.ts';

export const CARD_OVERLAP = 'card-overlap';

export const cardOverlapRule: FraudRule<EdgeFacts> = {
  name: CARD_OVERLAP,
  stages: [STAGE.payment],
  inputs: ['payment.fingerprint', 'referrer.signals.card'],
  evaluate({ payment, referrer }) {
    const card = payment?.fingerprint;
    if (!card || !referrer.signals.card.includes(card)) return allow(CARD_OVERLAP);
    return {
      rule: CARD_OVERLAP,
      decision: 'hold',
      score: 0,
      reason: `The referee paid with a card the referrer pays with (a self-purchase).`,
      evidence: { paymentId: payment.id, card },
    };
  },
};
