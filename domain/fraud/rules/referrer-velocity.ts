// A referrer writing edges faster than people share a link: held for a look. An approved partner's
// audience is larger, so partners have their own limits. Where the edge is written, the hour and
// the day up to it count; at activation (before the edge vests), the hour and the day around it, so
// the first edges of a burst are held too, not only those past the limit.
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
    stages: ['edge_write', 'activation'],
    inputs: ['referrerEdges', 'referrer.isPartner'],
    evaluate({ stage, referrer, referrerEdges }) {
      const [perHour, perDay] = referrer.isPartner
        ? [settings.partnerEdgesPerHour, settings.partnerEdgesPerDay]
        : [settings.referrerEdgesPerHour, settings.referrerEdgesPerDay];
      const overHour = referrerEdges.hour > perHour;
      const around = stage === 'activation';
      if (!overHour && referrerEdges.day <= perDay) return allow(REFERRER_VELOCITY);
      return {
        rule: REFERRER_VELOCITY,
        decision: 'hold',
        score: 0,
        reason: overHour
          ? `The referrer wrote ${referrerEdges.hour} edges in ${around ? 'the hour around this one' : 'an hour'} (more than ${perHour}).`
          : `The referrer wrote ${referrerEdges.day} edges in ${around ? 'the day around this one' : 'a day'} (more than ${perDay}).`,
        evidence: {
          ...referrerEdges,
          perHour,
          perDay,
          partner: referrer.isPartner,
          window: around ? 'around' : 'up_to',
        },
      };
    },
  };
}
