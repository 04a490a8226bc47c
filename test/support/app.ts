// The real app on an ephemeral port, with a config built for the test.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../../platform/env.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import { createApp } from '../../api/app.ts';
import type { DatabasePool } from '../../db/pool.ts';

export const PARTNER_A = '00000000-0000-4000-8000-00000000000a';
export const PARTNER_B = '00000000-0000-4000-8000-00000000000b';

export const TEST_KEYS = {
  admin: 'admin_test_key_0123456789',
  finance: 'finance_test_key_0123456789',
  server: 'server_test_key_0123456789',
  partnerA: 'partner_a_test_key_0123456789',
  partnerB: 'partner_b_test_key_0123456789',
};

export function testConfig(databaseUrl: string, overrides: Partial<Record<string, string>> = {}): Config {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    API_KEYS: `admin:${TEST_KEYS.admin},finance:${TEST_KEYS.finance},server:${TEST_KEYS.server},partner:${PARTNER_A}:${TEST_KEYS.partnerA},partner:${PARTNER_B}:${TEST_KEYS.partnerB}`,
    RATE_LIMIT_PER_MINUTE: '100000',
    SESSION_SECRET: 'test-session-secret-0123456789-abcdefghijkl',
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

export type TestApi = {
  baseUrl: string;
  close(): Promise<void>;
  request(
    path: string,
    init?: RequestInit & { json?: unknown; key?: string },
  ): Promise<{ status: number; body: any; headers: Headers }>;
};

export async function startTestApi(deps: {
  config: Config;
  db: DatabasePool;
  temporal: Client;
  /** Where the app logs (default: nowhere). */
  log?: Logger;
}): Promise<TestApi> {
  const app = createApp({ ...deps, log: deps.log ?? createLogger('silent', 'api-test') });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    async request(path, init = {}) {
      const { json, key, headers, ...rest } = init;
      const res = await fetch(`${baseUrl}${path}`, {
        ...rest,
        method: rest.method ?? (json === undefined ? 'GET' : 'POST'),
        headers: {
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(headers as Record<string, string> | undefined),
        },
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body, headers: res.headers };
    },
  };
}
