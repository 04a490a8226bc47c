// The velocity rules: a referrer writing edges too fast holds; crowds from one address or network
// only score; an activation within seconds of the signup scores. Each with its honest look-alike.
import { describe, expect, it } from '@jest/globals';
import { ipVelocityRule, IP_BURST_SCORE, IP_VELOCITY_SCORE } from '../../domain/fraud/rules/ip-velocity.ts';
import { networkVelocityRule, NETWORK_VELOCITY_SCORE } from '../../domain/fraud/rules/network-velocity.ts';
import { quickActivationRule, QUICK_ACTIVATION_SCORE } from '../../domain/fraud/rules/quick-activation.ts';
import { referrerVelocityRule } from '../../domain/fraud/rules/referrer-velocity.ts';
import { DEFAULT_FRAUD_SETTINGS as D } from '../../domain/fraud/settings.ts';
import { facts, secondsAfterSignup } from '../support/fraud-facts.ts';

describe('referrer-velocity', () => {
  const rule = referrerVelocityRule(D);
  const edges = (hour: number, day: number, isPartner = false) =>
    rule.evaluate(facts({ referrerEdges: { hour, day }, referrer: { isPartner } }));

  it('holds the edge past the hourly or the daily limit', () => {
    expect(edges(D.referrerEdgesPerHour + 1, D.referrerEdgesPerHour + 1)).toMatchObject({
      decision: 'hold',
      evidence: { hour: 21, perHour: 20 },
    });
    expect(edges(1, D.referrerEdgesPerDay + 1).reason).toContain('in a day');
  });

  it("allows a person sharing with friends up to the limits, and a partner's audience far beyond them", () => {
    expect(edges(D.referrerEdgesPerHour, D.referrerEdgesPerDay).decision).toBe('allow');
    expect(edges(200, 1_000, true).decision).toBe('allow');
    expect(edges(D.partnerEdgesPerHour + 1, D.partnerEdgesPerHour + 1, true).decision).toBe('hold');
  });

  it('runs again at activation over the hour around the edge, so the first edges of a burst are held too', () => {
    expect(rule.stages).toEqual(['edge_write', 'activation']);
    const atActivation = (hour: number) =>
      rule.evaluate(facts({ stage: 'activation', referrerEdges: { hour, day: hour } }));
    expect(atActivation(25)).toMatchObject({ decision: 'hold', evidence: { hour: 25, window: 'around' } });
    expect(atActivation(25).reason).toContain('the hour around this one');
    expect(atActivation(D.referrerEdgesPerHour).decision).toBe('allow');
  });
});

describe('ip-velocity', () => {
  const rule = ipVelocityRule(D);
  const crowd = (hour: number) => rule.evaluate(facts({ crowd: { ip: { hour, day: hour } } }));

  it('scores many signups from one address in an hour, a burst higher; never a hold on its own', () => {
    expect(crowd(D.ipSignupsPerHour + 1)).toMatchObject({ decision: 'score', score: IP_VELOCITY_SCORE });
    expect(crowd(D.ipBurstPerHour + 1)).toMatchObject({ decision: 'score', score: IP_BURST_SCORE });
    expect(rule.networkOnly).toBe(true);
  });

  it('allows a family signing up together, and a signup whose address is unknown', () => {
    expect(crowd(4).decision).toBe('allow');
    expect(rule.evaluate(facts({ crowd: { ip: null } })).decision).toBe('allow');
  });
});

describe('network-velocity', () => {
  const rule = networkVelocityRule(D);

  it('scores a crowd from one network in an hour', () => {
    const verdict = rule.evaluate(facts({ crowd: { network: { hour: D.networkSignupsPerHour + 1, day: 400 } } }));
    expect(verdict).toMatchObject({
      decision: 'score',
      score: NETWORK_VELOCITY_SCORE,
      evidence: { network: 'AS64501' },
    });
    expect(rule.networkOnly).toBe(true);
  });

  it("allows a big ISP's ordinary traffic", () => {
    expect(rule.evaluate(facts({ crowd: { network: { hour: 120, day: 900 } } })).decision).toBe('allow');
  });
});

describe('quick-activation', () => {
  const rule = quickActivationRule(D);
  const activated = (seconds: number | null) =>
    rule.evaluate(
      facts({
        stage: 'activation',
        referee: { activatedAt: seconds === null ? null : secondsAfterSignup(seconds) },
      }),
    );

  it('scores an app built within seconds of the signup', () => {
    expect(activated(4)).toMatchObject({ decision: 'score', score: QUICK_ACTIVATION_SCORE, evidence: { seconds: 4 } });
    expect(rule.stages).toEqual(['activation']);
  });

  it('allows a person who took minutes, or days', () => {
    expect(activated(D.quickActivationSeconds).decision).toBe('allow');
    expect(activated(3 * 86_400).decision).toBe('allow');
    expect(activated(null).decision).toBe('allow');
  });
});
