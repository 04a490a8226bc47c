// Facts for the fraud rules' unit tests: an honest edge by default (nobody shares anything), with
// only what a case is about overridden.
import type { EdgeFacts, Signals } from '../../domain/fraud/facts.ts';
import type { FraudStage } from '../../domain/fraud/rule.ts';

export const signals = (s: Partial<Signals> = {}): Signals => ({ device: [], ip: [], network: [], card: [], ...s });

const SIGNED_UP = new Date('2027-03-01T12:00:00Z');

export type FactsOverrides = {
  stage?: FraudStage;
  referrer?: Partial<EdgeFacts['referrer']>;
  referee?: Partial<EdgeFacts['referee']>;
  siblings?: EdgeFacts['siblings'];
  referrerEdges?: EdgeFacts['referrerEdges'];
  crowd?: Partial<EdgeFacts['crowd']>;
  payment?: EdgeFacts['payment'];
};

export function facts(o: FactsOverrides = {}): EdgeFacts {
  return {
    stage: o.stage ?? 'edge_write',
    edge: { id: '00000000-0000-4000-8000-0000000000e1', createdAt: SIGNED_UP },
    referrer: {
      id: '00000000-0000-4000-8000-0000000000a1',
      email: 'alice@example.com',
      isPartner: false,
      signals: signals({ device: ['dev-alice'], ip: ['203.0.113.7'], network: ['AS64500'], card: ['card-alice'] }),
      ...o.referrer,
    },
    referee: {
      id: '00000000-0000-4000-8000-0000000000b1',
      email: 'bob@example.org',
      signedUpAt: SIGNED_UP,
      activatedAt: null,
      signals: signals({ device: ['dev-bob'], ip: ['198.51.100.9'], network: ['AS64501'] }),
      signupIp: '198.51.100.9',
      signupNetwork: 'AS64501',
      ...o.referee,
    },
    siblings: o.siblings ?? [],
    referrerEdges: o.referrerEdges ?? { hour: 1, day: 1 },
    crowd: { ip: { hour: 1, day: 1 }, network: { hour: 1, day: 1 }, ...o.crowd },
    payment: o.payment ?? null,
  };
}

export const secondsAfterSignup = (s: number) => new Date(SIGNED_UP.getTime() + s * 1000);
