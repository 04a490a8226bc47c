import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parseApiKeys } from '../../platform/env.ts';

const valid = {
  DATABASE_URL: 'postgres://u:p@localhost:5432/db',
  API_KEYS: 'admin:aaaaaaaaaaaaaaaa1,server:bbbbbbbbbbbbbbbb2',
  SESSION_SECRET: 'x'.repeat(32),
};

describe('configuration', () => {
  it('reads a valid environment into a typed object with defaults', () => {
    const config = loadConfig(valid);
    expect(config.port).toBe(3000);
    expect(config.temporal).toEqual({ address: 'localhost:7233', namespace: 'default', taskQueue: 'referral-graph' });
    expect(config.apiKeys).toEqual([
      { role: 'admin', key: 'aaaaaaaaaaaaaaaa1' },
      { role: 'server', key: 'bbbbbbbbbbbbbbbb2' },
    ]);
    expect(config.activationWindowDays).toBe(30);
    expect(config.starterConcurrency).toBe(64);
    expect(loadConfig({ ...valid, WORKFLOW_STARTER_CONCURRENCY: '8' }).starterConcurrency).toBe(8);
    expect(config.fraudRings).toEqual({ scanEveryMinutes: 60 });
    expect(loadConfig({ ...valid, FRAUD_RING_SCAN_EVERY_MINUTES: '15' }).fraudRings.scanEveryMinutes).toBe(15);
  });

  it.each([
    [{ DATABASE_URL: undefined }, /DATABASE_URL: is not set/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: must be a postgres/],
    [{ SESSION_SECRET: 'short' }, /SESSION_SECRET: must be at least 32/],
    [{ SESSION_SECRET: undefined }, /SESSION_SECRET: is not set/],
    [{ API_KEYS: 'root:aaaaaaaaaaaaaaaaaaaa' }, /API_KEYS: "root" is not a role/],
    [{ API_KEYS: 'admin:short' }, /API_KEYS: the admin key must be at least 16/],
    [{ PORT: 'eighty' }, /PORT:/],
    [{ PORT: '70000' }, /PORT:/],
    [{ TEMPORAL_ADDRESS: 'no-port' }, /TEMPORAL_ADDRESS: must be host:port/],
    [{ WORKFLOW_STARTER_CONCURRENCY: '0' }, /WORKFLOW_STARTER_CONCURRENCY:/],
    [{ WORKFLOW_STARTER_CONCURRENCY: '1000' }, /WORKFLOW_STARTER_CONCURRENCY:/],
    [{ FRAUD_RING_SCAN_EVERY_MINUTES: '0' }, /FRAUD_RING_SCAN_EVERY_MINUTES:/],
  ])('stops on %j, naming the variable', (patch, message) => {
    const env = { ...valid, ...patch } as Record<string, string | undefined>;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads partner keys with their tenant', () => {
    const tenant = '5b0c8f5e-2f7e-4d39-9a55-0c1f0e1c2d3e';
    expect(parseApiKeys(`partner:${tenant}:pppppppppppppppp:with-colon`)).toEqual([
      { role: 'partner', tenantId: tenant, key: 'pppppppppppppppp:with-colon' },
    ]);
    expect(() => parseApiKeys('partner:not-a-uuid:pppppppppppppppp')).toThrow(/partner:<tenantId uuid>:<key>/);
  });

  it('refuses the same key listed twice', () => {
    expect(() => parseApiKeys('admin:aaaaaaaaaaaaaaaa,server:aaaaaaaaaaaaaaaa')).toThrow(/twice/);
  });
});
