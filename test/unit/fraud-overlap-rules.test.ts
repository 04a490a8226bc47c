// The overlap rules: what the referee shares with the referrer (device, card, IP address) and with
// the referrer's other referees. Each with its honest look-alike: a family behind one IP, colleagues
// at one office, a customer paying with their own card, two people on a family tablet.
import { describe, expect, it } from '@jest/globals';
import { cardOverlapRule } from '../../domain/fraud/rules/card-overlap.ts';
import { deviceOverlapRule } from '../../domain/fraud/rules/device-overlap.ts';
import { ipOverlapRule, IP_OVERLAP_SCORE } from '../../domain/fraud/rules/ip-overlap.ts';
import { sharedCardRefereesRule, SHARED_CARD_SCORE } from '../../domain/fraud/rules/shared-card-referees.ts';
import { sharedDeviceRefereesRule, SHARED_DEVICE_SCORE } from '../../domain/fraud/rules/shared-device-referees.ts';
import { sharedIpRefereesRule } from '../../domain/fraud/rules/shared-ip-referees.ts';
import { DEFAULT_FRAUD_SETTINGS } from '../../domain/fraud/settings.ts';
import { facts, signals } from '../support/fraud-facts.ts';

const referrerSignals = signals({ device: ['dev-alice'], ip: ['203.0.113.7'], card: ['card-alice'] });

describe('device-overlap', () => {
  it("holds a referee seen on the referrer's device, at the edge write and at activation", () => {
    for (const stage of ['edge_write', 'activation'] as const) {
      const verdict = deviceOverlapRule.evaluate(
        facts({ stage, referee: { signals: signals({ device: ['dev-bob', 'dev-alice'] }) } }),
      );
      expect(verdict).toMatchObject({ decision: 'hold', evidence: { devices: ['dev-alice'] } });
    }
    expect(deviceOverlapRule.stages).toEqual(['edge_write', 'activation']);
  });

  it('allows a referee on their own device, even from the same home address', () => {
    const same = facts({
      referrer: { signals: referrerSignals },
      referee: { signals: signals({ device: ['dev-bob'], ip: ['203.0.113.7'] }) },
    });
    expect(deviceOverlapRule.evaluate(same).decision).toBe('allow');
  });
});

describe('card-overlap', () => {
  const paying = (card: string | null) =>
    facts({ stage: 'payment', referrer: { signals: referrerSignals }, payment: { id: 'ch_1', fingerprint: card } });

  it("holds a payment made with the referrer's card (a self-purchase)", () => {
    expect(cardOverlapRule.evaluate(paying('card-alice'))).toMatchObject({
      decision: 'hold',
      evidence: { paymentId: 'ch_1', card: 'card-alice' },
    });
  });

  it('allows a customer paying with their own card, or a payment that names no card', () => {
    expect(cardOverlapRule.evaluate(paying('card-bob')).decision).toBe('allow');
    expect(cardOverlapRule.evaluate(paying(null)).decision).toBe('allow');
  });
});

describe('ip-overlap', () => {
  it('scores referrer and referee on one address, and never holds: a household or an office shares one', () => {
    const household = facts({
      referrer: { signals: referrerSignals },
      referee: { signals: signals({ device: ['dev-bob'], ip: ['203.0.113.7'] }) },
    });
    expect(ipOverlapRule.evaluate(household)).toMatchObject({
      decision: 'score',
      score: IP_OVERLAP_SCORE,
      evidence: { ips: ['203.0.113.7'] },
    });
    expect(ipOverlapRule.networkOnly).toBe(true);
  });

  it('allows different addresses', () => {
    expect(ipOverlapRule.evaluate(facts()).decision).toBe('allow');
  });
});

describe('shared-device-referees', () => {
  const rule = sharedDeviceRefereesRule(DEFAULT_FRAUD_SETTINGS);
  const onDevice = (others: number) =>
    rule.evaluate(facts({ siblings: [{ kind: 'device', value: 'dev-x', referees: others }] }));

  it("holds when the referee's device carried the setting's number of the referrer's other referees", () => {
    expect(onDevice(DEFAULT_FRAUD_SETTINGS.sharedDeviceReferees)).toMatchObject({
      decision: 'hold',
      evidence: { device: 'dev-x', otherReferees: 2 },
    });
    expect(onDevice(7).decision).toBe('hold');
  });

  it('scores two referees on one family tablet, and allows a device nobody else used', () => {
    expect(onDevice(1)).toMatchObject({ decision: 'score', score: SHARED_DEVICE_SCORE });
    expect(onDevice(0).decision).toBe('allow');
    expect(rule.evaluate(facts({ siblings: [{ kind: 'ip', value: '203.0.113.7', referees: 9 }] })).decision).toBe(
      'allow',
    );
  });
});

describe('shared-ip-referees', () => {
  const rule = sharedIpRefereesRule(DEFAULT_FRAUD_SETTINGS);
  const fromIp = (others: number) =>
    rule.evaluate(facts({ siblings: [{ kind: 'ip', value: '203.0.113.7', referees: others }] }));

  it("scores, never holds, many of the referrer's referees on one address (colleagues at one office)", () => {
    const office = fromIp(40);
    expect(office).toMatchObject({ decision: 'score', evidence: { ip: '203.0.113.7', otherReferees: 40 } });
    expect(rule.networkOnly).toBe(true);
  });

  it('allows a family: fewer than the setting', () => {
    expect(fromIp(DEFAULT_FRAUD_SETTINGS.sharedIpReferees - 1).decision).toBe('allow');
  });
});

describe('shared-card-referees', () => {
  const rule = sharedCardRefereesRule(DEFAULT_FRAUD_SETTINGS);
  const paying = (card: string, others: number) =>
    rule.evaluate(
      facts({
        stage: 'payment',
        payment: { id: 'ch_2', fingerprint: card },
        siblings: [{ kind: 'card', value: 'card-shared', referees: others }],
      }),
    );

  it("holds a card that paid for the setting's number of the referrer's other referees", () => {
    expect(paying('card-shared', 2)).toMatchObject({
      decision: 'hold',
      evidence: { paymentId: 'ch_2', card: 'card-shared', otherReferees: 2 },
    });
  });

  it('scores one colleague on a company card; allows a card of their own', () => {
    expect(paying('card-shared', 1)).toMatchObject({ decision: 'score', score: SHARED_CARD_SCORE });
    expect(paying('card-own', 5).decision).toBe('allow');
  });
});
