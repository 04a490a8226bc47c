// FRAUD_* variables: every threshold defaults to the domain's, each can be overridden, and a bad
// value stops start-up naming the variable.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_FRAUD_SETTINGS } from '../../domain/fraud/settings.ts';
import { ConfigError, loadConfig } from '../../platform/env.ts';

const valid = {
  DATABASE_URL: 'postgres://u:p@localhost:5432/db',
  API_KEYS: 'admin:aaaaaaaaaaaaaaaa1',
  SESSION_SECRET: 'x'.repeat(32),
};

describe('fraud settings', () => {
  it('default to the domain defaults, rules on', () => {
    expect(loadConfig(valid).fraud).toEqual(DEFAULT_FRAUD_SETTINGS);
    expect(DEFAULT_FRAUD_SETTINGS.enabled).toBe(true);
  });

  it('read each override', () => {
    const fraud = loadConfig({
      ...valid,
      FRAUD_RULES: 'off',
      FRAUD_HOLD_SCORE: '150',
      FRAUD_REFERRER_EDGES_PER_HOUR: '5',
      FRAUD_REFERRER_EDGES_PER_DAY: '30',
      FRAUD_PARTNER_EDGES_PER_HOUR: '1000',
      FRAUD_PARTNER_EDGES_PER_DAY: '9000',
      FRAUD_IP_SIGNUPS_PER_HOUR: '20',
      FRAUD_IP_BURST_PER_HOUR: '100',
      FRAUD_NETWORK_SIGNUPS_PER_HOUR: '50',
      FRAUD_SHARED_DEVICE_REFEREES: '3',
      FRAUD_SHARED_IP_REFEREES: '5',
      FRAUD_SHARED_CARD_REFEREES: '4',
      FRAUD_QUICK_ACTIVATION_SECONDS: '0',
      FRAUD_DISPOSABLE_DOMAINS_FILE: '/etc/referral-graph/disposable.txt',
    }).fraud;
    expect(fraud).toEqual({
      enabled: false,
      holdScore: 150,
      referrerEdgesPerHour: 5,
      referrerEdgesPerDay: 30,
      partnerEdgesPerHour: 1000,
      partnerEdgesPerDay: 9000,
      ipSignupsPerHour: 20,
      ipBurstPerHour: 100,
      networkSignupsPerHour: 50,
      sharedDeviceReferees: 3,
      sharedIpReferees: 5,
      sharedCardReferees: 4,
      quickActivationSeconds: 0,
      disposableDomainsFile: '/etc/referral-graph/disposable.txt',
    });
  });

  it.each([
    [{ FRAUD_RULES: 'maybe' }, /FRAUD_RULES:/],
    [{ FRAUD_HOLD_SCORE: '0' }, /FRAUD_HOLD_SCORE:/],
    [{ FRAUD_REFERRER_EDGES_PER_HOUR: 'many' }, /FRAUD_REFERRER_EDGES_PER_HOUR:/],
    [{ FRAUD_IP_SIGNUPS_PER_HOUR: '60', FRAUD_IP_BURST_PER_HOUR: '50' }, /FRAUD_IP_BURST_PER_HOUR: must be at least/],
    [{ FRAUD_DISPOSABLE_DOMAINS_FILE: '' }, /FRAUD_DISPOSABLE_DOMAINS_FILE:/],
  ])('stop on %j, naming the variable', (patch, message) => {
    expect(() => loadConfig({ ...valid, ...patch })).toThrow(ConfigError);
    expect(() => loadConfig({ ...valid, ...patch })).toThrow(message);
  });
});
