// docker-compose.yml runs the system beside other things on a machine: it must not fall back to
// secrets anyone can read in this repository, and must not publish what has no authentication
// (PostgreSQL, Temporal's frontend; the Temporal UI only on this machine's loopback).
// `npm run check:compose` checks the same with docker-compose itself (in .ci/run).
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

type Service = {
  environment?: Record<string, string | number | boolean> | string[];
  ports?: (string | number | { host_ip?: string; published?: string | number })[];
  networks?: string[] | Record<string, unknown>;
};
type Compose = { services: Record<string, Service>; networks?: Record<string, { internal?: boolean } | null> };

// js-yaml comes with jest (through istanbul); the compose file needs anchors and merge keys, which it reads.
const yaml = createRequire(import.meta.url)('js-yaml') as { safeLoad(text: string): unknown };
const text = readFileSync(join(import.meta.dirname, '..', '..', 'docker-compose.yml'), 'utf8');
const compose = yaml.safeLoad(text) as Compose;

const SECRETS = ['API_KEYS', 'SESSION_SECRET', 'POSTGRES_PASSWORD'];
const SECRET_NAME = /KEY|SECRET|PASSWORD|PWD|TOKEN/;
/** Services whose port may be reached from other machines: the API. */
const PUBLIC = new Set(['api']);
/** Services without authentication that only the app's containers may reach. */
const INTERNAL_ONLY = ['postgres', 'temporal'];

const envOf = (service: Service): Record<string, string> =>
  Array.isArray(service.environment)
    ? Object.fromEntries(service.environment.map((e) => [e.split('=')[0]!, e.split('=').slice(1).join('=')]))
    : Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
const networksOf = (service: Service): string[] =>
  Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? { default: null });
/** `${NAME...}` references in a value: the name and what follows it (`:?msg`, `:-default`, nothing). */
const references = (value: string) =>
  [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}/g)].map((m) => ({ name: m[1]!, rest: m[2]! }));

describe('docker-compose.yml', () => {
  it('gives no secret a default: each is required (${NAME:?message}), so compose refuses to start without it', () => {
    const refs = references(text);
    for (const name of SECRETS) {
      const uses = refs.filter((r) => r.name === name);
      expect({ name, used: uses.length > 0 }).toEqual({ name, used: true });
      expect(uses.filter((r) => !r.rest.startsWith(':?'))).toEqual([]);
    }
    expect(refs.filter((r) => SECRET_NAME.test(r.name) && !r.rest.startsWith(':?'))).toEqual([]);
  });

  it('writes no secret value of its own: every secret-looking setting comes from a required variable', () => {
    const literal: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(envOf(service))) {
        const secretKey = SECRET_NAME.test(key);
        const fromRequired = /^\$\{[A-Z_]+:\?[^}]*\}$/.test(value);
        if (secretKey && !fromRequired) literal.push(`${name}.${key}`);
        // A URL with a password carries it from a required variable too.
        const password = /^[a-z]+:\/\/[^:/@]+:([^@]+)@/.exec(value)?.[1];
        if (password !== undefined && !/^\$\{[A-Z_]+:\?[^}]*\}$/.test(password)) literal.push(`${name}.${key}`);
      }
    }
    expect(literal).toEqual([]);
    for (const app of ['migrate', 'worker', 'relays', 'api']) {
      const env = envOf(compose.services[app]!);
      expect(env.API_KEYS).toMatch(/^\$\{API_KEYS:\?/);
      expect(env.SESSION_SECRET).toMatch(/^\$\{SESSION_SECRET:\?/);
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/app:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\//);
    }
  });

  it('publishes no port but the API to other machines: Temporal UI on loopback, PostgreSQL and the Temporal frontend not at all', () => {
    const exposed: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) {
        const loopback =
          typeof port === 'object' ? port.host_ip === '127.0.0.1' : String(port).startsWith('127.0.0.1:');
        if (!loopback && !PUBLIC.has(name)) exposed.push(`${name}: ${JSON.stringify(port)}`);
      }
    }
    expect(exposed).toEqual([]);
    for (const name of INTERNAL_ONLY) expect(compose.services[name]!.ports ?? []).toEqual([]);
    expect(compose.services['temporal-ui']!.ports).toEqual(['127.0.0.1:8233:8080']);
  });

  it('keeps PostgreSQL and Temporal on an internal network only (no way out, nothing of theirs reachable from outside)', () => {
    for (const name of INTERNAL_ONLY) {
      const networks = networksOf(compose.services[name]!);
      expect(networks.length).toBeGreaterThan(0);
      for (const network of networks)
        expect({ name, network, internal: compose.networks?.[network]?.internal }).toEqual({
          name,
          network,
          internal: true,
        });
    }
  });
});
