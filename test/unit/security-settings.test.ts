// The settings behind the API's protections: which proxies may name the client (TRUST_PROXY), which
// origins may make cookie-authenticated writes (ALLOWED_ORIGINS), the signed-in rate limits and the
// mail attempt bound.
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parseOrigins, parseTrustProxy } from '../../platform/env.ts';

const valid = {
  DATABASE_URL: 'postgres://u:p@localhost:5432/db',
  API_KEYS: 'admin:aaaaaaaaaaaaaaaa1',
  SESSION_SECRET: 'x'.repeat(32),
};

describe('TRUST_PROXY', () => {
  it('is off by default: forwarded addresses are ignored', () => {
    expect(loadConfig(valid).trustProxy).toBe(false);
    for (const off of [undefined, '', ' ', 'false', 'off', '0']) expect(parseTrustProxy(off)).toBe(false);
  });

  it('takes a hop count, addresses, CIDRs and Express presets', () => {
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy('10.0.0.1, 10.1.0.0/16,fd00::/8, loopback')).toEqual([
      '10.0.0.1',
      '10.1.0.0/16',
      'fd00::/8',
      'loopback',
    ]);
    expect(parseTrustProxy('192.168.0.0/255.255.0.0')).toEqual(['192.168.0.0/255.255.0.0']);
    expect(loadConfig({ ...valid, TRUST_PROXY: '2' }).trustProxy).toBe(2);
  });

  it.each(['true', '*', 'proxy.example.com', '10.0.0.0/33', '::1/129', '10.0.0.1/8/1', '99'])(
    'refuses %j, naming the variable',
    (value) => {
      expect(() => loadConfig({ ...valid, TRUST_PROXY: value })).toThrow(ConfigError);
      expect(() => loadConfig({ ...valid, TRUST_PROXY: value })).toThrow(/TRUST_PROXY:/);
    },
  );
});

describe('ALLOWED_ORIGINS', () => {
  it("adds to PUBLIC_BASE_URL's origin", () => {
    expect(loadConfig(valid).allowedOrigins).toEqual(['http://localhost:3000']);
    expect(
      loadConfig({
        ...valid,
        PUBLIC_BASE_URL: 'https://refer.example.com/app/',
        ALLOWED_ORIGINS: 'https://agency.example.net, http://localhost:5173',
      }).allowedOrigins,
    ).toEqual(['https://refer.example.com', 'https://agency.example.net', 'http://localhost:5173']);
  });

  it.each(['agency.example.net', 'https://x.example/path', 'ftp://x.example', '*'])('refuses %j', (value) => {
    expect(() => parseOrigins(value)).toThrow();
    expect(() => loadConfig({ ...valid, ALLOWED_ORIGINS: value })).toThrow(/ALLOWED_ORIGINS:/);
  });
});

describe('rate limits and mail attempts', () => {
  it('scale the signed-in limits with RATE_LIMIT_PER_MINUTE unless set', () => {
    const c = loadConfig(valid);
    expect([c.rateLimitPerMinute, c.rateLimitUserPerMinute, c.rateLimitKeyPerMinute]).toEqual([120, 600, 12_000]);
    const bench = loadConfig({ ...valid, RATE_LIMIT_PER_MINUTE: '100000000' });
    expect(bench.rateLimitUserPerMinute).toBeGreaterThanOrEqual(100_000_000);
    expect(bench.rateLimitKeyPerMinute).toBeGreaterThanOrEqual(100_000_000);
    const set = loadConfig({ ...valid, RATE_LIMIT_USER_PER_MINUTE: '7', RATE_LIMIT_KEY_PER_MINUTE: '9' });
    expect([set.rateLimitUserPerMinute, set.rateLimitKeyPerMinute]).toEqual([7, 9]);
  });

  it('bounds mail attempts (10 by default)', () => {
    expect(loadConfig(valid).mailMaxAttempts).toBe(10);
    expect(loadConfig({ ...valid, MAIL_MAX_ATTEMPTS: '3' }).mailMaxAttempts).toBe(3);
    expect(() => loadConfig({ ...valid, MAIL_MAX_ATTEMPTS: '0' })).toThrow(/MAIL_MAX_ATTEMPTS:/);
  });
});
