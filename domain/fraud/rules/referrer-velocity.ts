// A referrer writing edges faster than people share a link: held for a look. An approved partner's
// audience is larger, so partners have their own limits.
import type { EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';
import type { FraudSettings } from '../settings.ts';

export const REFERRER_VELOCITY = 'referrer-velocity';

type Limits = Pick<
  FraudSettings,
  'referrerEdgesPerHour' | 'referrerEdgesPerDay' | 'partnerEdgesPerHour' | 'partnerEdgesPerDay'
>;

export function referrerVelocityRule(settings: Limits): FraudRule<EdgeFacts> {
  return {
    name: REFERRER_VELOCITY,
    stages: ['edge_write'],
    inputs: ['referrerEdges', 'referrer.isPartner'],
    evaluate({ referrer, referrerEdges }) {
      const [perHour, perDay] = referrer.isPartner
        ? [settings.partnerEdgesPerHour, settings.partnerEdgesPerDay]
        : [settings.referrerEdgesPerHour, settings.referrerEdgesPerDay];
      const overHour = referrerEdges.hour > perHour;
      if (!overHour && referrerEdges.day <= perDay) return allow(REFERRER_VELOCITY);
      return {
        rule: REFERRER_VELOCITY,
        decision: 'hold',
        score: 0,
        reason: overHour
          ? `The referrer wrote ${referrerEdges.hour} edges in an hour (more than ${perHour}).`
          : `The referrer wrote ${referrerEdges.day} edges in a day (more than ${perDay}).`,
        evidence: { ...referrerEdges, perHour, perDay, partner: referrer.isPartner },
      };
    },
  };
}
