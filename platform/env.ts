// Configuration is read once, at start-up, into a typed object. A bad or missing variable stops
// start-up with a message naming it.
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  DEFAULT_FLAVORS,
  DEFAULT_PERSONAL_CODE_LIMITS,
  type FlavorTable,
  type PersonalCodeLimits,
} from '../domain/invite-flavors.ts';
import { DEFAULT_TRACK_WINDOW_MINUTES } from '../domain/attribution.ts';
import { DEFAULT_LINK_GRANTS, DEFAULT_SEAT_INVITES_PER_USER, type LinkGrants } from '../domain/seats.ts';
import { DEFAULT_HANDOFF_TTL_MINUTES, handoffHost } from '../domain/handoff.ts';
import { DEFAULT_MAX_TOTAL_REWARD_BPS } from '../domain/partner-settings.ts';
import type { CommissionSettings } from '../domain/commission.ts';
import type { StripeSettings } from './stripe.ts';
import type { WhopSettings } from './whop.ts';
import type { WavePlanSettings } from '../domain/waves.ts';
import { DEFAULT_FRAUD_SETTINGS, type FraudSettings } from '../domain/fraud/settings.ts';

export const API_KEY_ROLES = ['admin', 'finance', 'server', 'partner'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];
export type ApiKey = { role: ApiKeyRole; tenantId?: string; key: string };

const MIN_KEY_LENGTH = 16;

/**
 * Workflow starts the relay has in flight at once unless WORKFLOW_STARTER_CONCURRENCY says otherwise (bench/signups.ts:
 * 64 starts more per second than 32 on the dev server).
 */
export const DEFAULT_STARTER_CONCURRENCY = 64;
const uuid = z.uuid();

/** `role:key` pairs, comma-separated; a partner key is `partner:<tenantId>:key`. */
export function parseApiKeys(raw: string): ApiKey[] {
  const keys: ApiKey[] = [];
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [role, ...rest] = entry.split(':');
    if (!API_KEY_ROLES.includes(role as ApiKeyRole)) {
      throw new Error(`"${role}" is not a role (expected one of ${API_KEY_ROLES.join(', ')})`);
    }
    let tenantId: string | undefined;
    if (role === 'partner') {
      tenantId = rest.shift();
      if (!tenantId || !uuid.safeParse(tenantId).success)
        throw new Error('a partner key is written partner:<tenantId uuid>:<key>');
    }
    const key = rest.join(':');
    if (key.length < MIN_KEY_LENGTH) throw new Error(`the ${role} key must be at least ${MIN_KEY_LENGTH} characters`);
    keys.push({ role: role as ApiKeyRole, ...(tenantId ? { tenantId } : {}), key });
  }
  const seen = new Set<string>();
  for (const { key } of keys) {
    if (seen.has(key)) throw new Error('the same key is listed twice');
    seen.add(key);
  }
  return keys;
}

const apiKeys = z.string().transform((raw, ctx) => {
  try {
    return parseApiKeys(raw);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** Express's trust-proxy value: which hops may tell us the client's address (X-Forwarded-For). */
export type TrustProxy = false | number | string[];
const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: a hop count, or addresses and CIDRs (and Express's loopback, linklocal, uniquelocal),
 * comma separated. Unset, empty, `false` or `0`: forwarded addresses are ignored. `true` is refused:
 * trusting every hop lets any client choose its own address.
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'false' || value === 'off' || value === '0') return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 32) throw new Error('a hop count must be at most 32');
    return hops;
  }
  if (value === 'true' || value === '*')
    throw new Error(
      '"true" would trust every hop (any client could choose its address); name the proxies or a hop count',
    );
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (PROXY_PRESETS.has(entry)) continue;
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefixOk =
      prefix === undefined ||
      (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max) ||
      (family === 4 && isIP(prefix) === 4);
    if (!family || rest.length > 0 || !prefixOk)
      throw new Error(`"${entry}" is not an address, a CIDR or one of ${[...PROXY_PRESETS].join(', ')}`);
  }
  return entries;
}

/** ALLOWED_ORIGINS: origins (scheme://host[:port]) besides PUBLIC_BASE_URL's, comma separated. */
export function parseOrigins(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new Error(`"${entry}" is not an origin (scheme://host[:port])`);
      }
      if (!/^https?:$/.test(url.protocol) || url.origin !== entry.replace(/\/+$/, ''))
        throw new Error(`"${entry}" is not an origin (scheme://host[:port], no path)`);
      return url.origin;
    });
}

const fromParser = <T>(parse: (raw: string | undefined) => T) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      try {
        return parse(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });

const postgresUrl = z
  .string()
  .refine((s) => /^postgres(ql)?:\/\//.test(s), 'must be a postgres:// or postgresql:// URL');

export const configSchema = z.object({
  DATABASE_URL: postgresUrl,
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'must be host:port')
    .default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('referral-graph'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_KEYS: apiKeys,
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ACTIVATION_WINDOW_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  PG_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(16),
  PUBLIC_BASE_URL: z.url().optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Referral Graph <invites@localhost>'),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  RATE_LIMIT_USER_PER_MINUTE: z.coerce.number().int().min(1).optional(),
  RATE_LIMIT_KEY_PER_MINUTE: z.coerce.number().int().min(1).optional(),
  TRUST_PROXY: fromParser(parseTrustProxy),
  ALLOWED_ORIGINS: fromParser(parseOrigins),
  MAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
  INVITE_FLAVORS: z.string().optional(),
  HOLDING_PERIOD_DAYS: z.coerce.number().int().min(0).max(365).default(30),
  BETA_RETENTION_GATE_DAYS: z.coerce.number().int().min(0).max(365).default(60),
  BETA_AUTO_COMMISSION_BPS: z.coerce.number().int().min(1_000).max(1_500).default(1_000),
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, 'must be a Stripe secret key (sk_test_..., sk_live_...)')
    .optional(),
  STRIPE_API_BASE: z.url().optional(),
  STRIPE_WEBHOOK_SECRET: z.string().startsWith('whsec_', 'must be a webhook signing secret (whsec_...)').optional(),
  STRIPE_RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).max(10_000).default(90),
  PAYOUT_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
  WORKFLOW_STARTER_CONCURRENCY: z.coerce.number().int().min(1).max(512).default(DEFAULT_STARTER_CONCURRENCY),
  WAITLIST_TARGET_WAIT_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  WAVE_CADENCE_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  WAVE_LEAD_DAYS: z.coerce.number().int().min(0).max(90).default(2),
  WAVE_RELEASE_EVERY_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  FORECAST_OBSERVATION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  FRAUD_RING_SCAN_EVERY_MINUTES: z.coerce.number().int().min(1).max(10_080).default(60),
  ...fraudVariables(),
  TRACK_WINDOW_MINUTES: z.coerce.number().int().min(1).max(10_080).default(DEFAULT_TRACK_WINDOW_MINUTES),
  PERSONAL_CODES_PER_USER: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_PERSONAL_CODE_LIMITS.perUser),
  PERSONAL_CODE_MAX_USES: z.coerce.number().int().min(1).max(1_000).default(DEFAULT_PERSONAL_CODE_LIMITS.maxUses),
  SEAT_INVITES_PER_USER: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_SEAT_INVITES_PER_USER),
  LINK_INVITEE_CREDITS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_LINK_GRANTS.inviteeCredits),
  LINK_INVITER_CREDITS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_LINK_GRANTS.inviterCredits),
  LINK_HEAD_START_POINTS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_LINK_GRANTS.headStart),
  MAX_TOTAL_REWARD_BPS: z.coerce.number().int().min(0).max(10_000).default(DEFAULT_MAX_TOTAL_REWARD_BPS),
  HANDOFF_ALLOWED_DOMAINS: z
    .string()
    .default('')
    .transform((raw, ctx) => {
      const hosts = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const host of hosts)
        if (handoffHost(host) !== host) {
          ctx.addIssue({
            code: 'custom',
            message: `"${host}" is not a lower-case host name (no scheme, port or path)`,
          });
          return z.NEVER;
        }
      return hosts;
    }),
  HANDOFF_TTL_MINUTES: z.coerce.number().int().min(1).max(60).default(DEFAULT_HANDOFF_TTL_MINUTES),
  SUB_ACCOUNT_CAP: z.coerce.number().int().min(0).max(10_000).default(3),
  WHOP_API_KEY: z.string().min(8).optional(),
  WHOP_BASE_URL: z.url().optional(),
  WHOP_COMPANY_ID: z.string().min(1).max(200).optional(),
  WHOP_WEBHOOK_SECRET: z.string().min(8).optional(),
  WHOP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(600_000).default(600),
  WHOP_RECONCILE_EVERY_MINUTES: z.coerce.number().int().min(1).max(10_080).default(15),
  WHOP_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
});

/** FRAUD_* variables: each threshold of FraudSettings, its default from the domain. */
function fraudVariables() {
  const d = DEFAULT_FRAUD_SETTINGS;
  const count = (fallback: number) => z.coerce.number().int().min(1).max(1_000_000).default(fallback);
  return {
    FRAUD_RULES: z.enum(['on', 'off']).default(d.enabled ? 'on' : 'off'),
    FRAUD_HOLD_SCORE: count(d.holdScore),
    FRAUD_REFERRER_EDGES_PER_HOUR: count(d.referrerEdgesPerHour),
    FRAUD_REFERRER_EDGES_PER_DAY: count(d.referrerEdgesPerDay),
    FRAUD_PARTNER_EDGES_PER_HOUR: count(d.partnerEdgesPerHour),
    FRAUD_PARTNER_EDGES_PER_DAY: count(d.partnerEdgesPerDay),
    FRAUD_IP_SIGNUPS_PER_HOUR: count(d.ipSignupsPerHour),
    FRAUD_IP_BURST_PER_HOUR: count(d.ipBurstPerHour),
    FRAUD_NETWORK_SIGNUPS_PER_HOUR: count(d.networkSignupsPerHour),
    FRAUD_SHARED_DEVICE_REFEREES: count(d.sharedDeviceReferees),
    FRAUD_SHARED_IP_REFEREES: count(d.sharedIpReferees),
    FRAUD_SHARED_CARD_REFEREES: count(d.sharedCardReferees),
    FRAUD_QUICK_ACTIVATION_SECONDS: z.coerce.number().int().min(0).max(86_400).default(d.quickActivationSeconds),
    FRAUD_DISPOSABLE_DOMAINS_FILE: z.string().min(1).optional(),
  };
}

const flavorSettings = z.strictObject({
  prefix: z.string().regex(/^[A-Z0-9]{1,12}$/),
  landingPage: z.string().startsWith('/'),
  defaultCredits: z.number().int().min(0),
  inviterCredits: z.number().int().min(0),
  headStart: z.number().int().min(0),
});
const flavorTable = z.strictObject({
  beta: flavorSettings,
  free: flavorSettings,
  og: flavorSettings,
  partner: flavorSettings,
});

function parseFlavors(raw: string | undefined): FlavorTable {
  if (!raw) return DEFAULT_FLAVORS;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('invalid configuration: INVITE_FLAVORS: is not JSON');
  }
  // A flavor given in part keeps the defaults of the fields it leaves out.
  const given = (json ?? {}) as Record<string, unknown>;
  const merged = flavorTable.safeParse(
    Object.fromEntries(
      [...new Set([...Object.keys(DEFAULT_FLAVORS), ...Object.keys(given)])].map((flavor) => {
        const defaults = (DEFAULT_FLAVORS as Record<string, object>)[flavor];
        const value = given[flavor];
        return [
          flavor,
          defaults && value && typeof value === 'object' && !Array.isArray(value)
            ? { ...defaults, ...value }
            : (value ?? defaults),
        ];
      }),
    ),
  );
  if (!merged.success)
    throw new ConfigError(
      `invalid configuration: INVITE_FLAVORS: ${merged.error.issues[0]?.path.join('.')} ${merged.error.issues[0]?.message}`,
    );
  return merged.data;
}

export type Config = {
  databaseUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string };
  port: number;
  apiKeys: ApiKey[];
  sessionSecret: string;
  logLevel: z.infer<typeof configSchema>['LOG_LEVEL'];
  activationWindowDays: number;
  pgPoolSize: number;
  /** Workflow starts and outbox messages the relay has in flight at once. */
  starterConcurrency: number;
  publicBaseUrl: string;
  smtpUrl: string | null;
  mailFrom: string;
  /** Requests per client address per minute on each public route group. */
  rateLimitPerMinute: number;
  /** Requests per signed-in user, and per API key, per minute across signed-in routes. */
  rateLimitUserPerMinute: number;
  rateLimitKeyPerMinute: number;
  trustProxy: TrustProxy;
  /** Origins a cookie-authenticated write may come from: PUBLIC_BASE_URL's and ALLOWED_ORIGINS. */
  allowedOrigins: string[];
  /** Attempts at sending one mail before it is recorded as failed. */
  mailMaxAttempts: number;
  flavors: FlavorTable;
  /** Personal invite codes a user may hold, and the uses each may have. */
  personalCodes: PersonalCodeLimits;
  /** Seat invites each user has (SEAT_INVITES_PER_USER; milestone rungs may add more). */
  seatInvitesPerUser: number;
  /** What a referral link gives: the invitee's credits and head start at signup, the inviter's credits when it vests. */
  linkGrants: LinkGrants;
  /** Minutes after signup an unattributed user may still bind a referrer (POST /v1/referrals/track). */
  trackWindowMinutes: number;
  /** Cross-domain hand-offs: the hosts a referral link may hand off to (besides listings' custom domains), and the token's life. */
  handoff: { allowedDomains: string[]; ttlMinutes: number };
  /** Sub-accounts a tenant that is not a partner may run. */
  subAccountCap: number;
  commission: CommissionSettings;
  stripe: StripeSettings;
  whop: WhopSettings & { reconcileEveryMinutes: number };
  waves: WaveSettings;
  /** How often the fraud ring scan runs (its Schedule's interval). */
  fraudRings: { scanEveryMinutes: number };
  fraud: FraudSettings;
};

/** How waves are planned and released, and how long a cohort is watched for the forecast. */
export type WaveSettings = WavePlanSettings & { releaseEveryMinutes: number; forecastObservationDays: number };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const missing = env[name] === undefined;
      return `${name}: ${missing ? 'is not set' : issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  if (c.WAVE_LEAD_DAYS >= c.WAITLIST_TARGET_WAIT_DAYS)
    throw new ConfigError('invalid configuration: WAVE_LEAD_DAYS: must be less than WAITLIST_TARGET_WAIT_DAYS');
  const publicBaseUrl = c.PUBLIC_BASE_URL ?? `http://localhost:${c.PORT}`;
  if (c.FRAUD_IP_BURST_PER_HOUR < c.FRAUD_IP_SIGNUPS_PER_HOUR)
    throw new ConfigError('invalid configuration: FRAUD_IP_BURST_PER_HOUR: must be at least FRAUD_IP_SIGNUPS_PER_HOUR');
  return {
    databaseUrl: c.DATABASE_URL,
    temporal: { address: c.TEMPORAL_ADDRESS, namespace: c.TEMPORAL_NAMESPACE, taskQueue: c.TEMPORAL_TASK_QUEUE },
    port: c.PORT,
    apiKeys: c.API_KEYS,
    sessionSecret: c.SESSION_SECRET,
    logLevel: c.LOG_LEVEL,
    activationWindowDays: c.ACTIVATION_WINDOW_DAYS,
    pgPoolSize: c.PG_POOL_SIZE,
    starterConcurrency: c.WORKFLOW_STARTER_CONCURRENCY,
    publicBaseUrl,
    smtpUrl: c.SMTP_URL ?? null,
    mailFrom: c.MAIL_FROM,
    rateLimitPerMinute: c.RATE_LIMIT_PER_MINUTE,
    // Defaults scale with RATE_LIMIT_PER_MINUTE, so a run that raises it (the benches) raises all three.
    rateLimitUserPerMinute: c.RATE_LIMIT_USER_PER_MINUTE ?? 5 * c.RATE_LIMIT_PER_MINUTE,
    rateLimitKeyPerMinute: c.RATE_LIMIT_KEY_PER_MINUTE ?? 100 * c.RATE_LIMIT_PER_MINUTE,
    trustProxy: c.TRUST_PROXY,
    allowedOrigins: [...new Set([new URL(publicBaseUrl).origin, ...c.ALLOWED_ORIGINS])],
    mailMaxAttempts: c.MAIL_MAX_ATTEMPTS,
    flavors: parseFlavors(c.INVITE_FLAVORS),
    personalCodes: { perUser: c.PERSONAL_CODES_PER_USER, maxUses: c.PERSONAL_CODE_MAX_USES },
    seatInvitesPerUser: c.SEAT_INVITES_PER_USER,
    linkGrants: {
      inviteeCredits: c.LINK_INVITEE_CREDITS,
      inviterCredits: c.LINK_INVITER_CREDITS,
      headStart: c.LINK_HEAD_START_POINTS,
    },
    trackWindowMinutes: c.TRACK_WINDOW_MINUTES,
    handoff: { allowedDomains: c.HANDOFF_ALLOWED_DOMAINS, ttlMinutes: c.HANDOFF_TTL_MINUTES },
    subAccountCap: c.SUB_ACCOUNT_CAP,
    stripe: {
      secretKey: c.STRIPE_SECRET_KEY ?? null,
      apiBase: c.STRIPE_API_BASE ?? null,
      webhookSecret: c.STRIPE_WEBHOOK_SECRET ?? null,
      rateLimitPerSecond: c.STRIPE_RATE_LIMIT_PER_SECOND,
      concurrency: c.PAYOUT_CONCURRENCY,
    },
    whop: {
      apiKey: c.WHOP_API_KEY ?? null,
      baseUrl: c.WHOP_BASE_URL ?? null,
      companyId: c.WHOP_COMPANY_ID ?? null,
      webhookSecret: c.WHOP_WEBHOOK_SECRET ?? null,
      rateLimitPerMinute: c.WHOP_RATE_LIMIT_PER_MINUTE,
      maxRetries: 2,
      timeoutMs: c.WHOP_TIMEOUT_MS,
      reconcileEveryMinutes: c.WHOP_RECONCILE_EVERY_MINUTES,
    },
    waves: {
      targetWaitDays: c.WAITLIST_TARGET_WAIT_DAYS,
      cadenceDays: c.WAVE_CADENCE_DAYS,
      leadDays: c.WAVE_LEAD_DAYS,
      releaseEveryMinutes: c.WAVE_RELEASE_EVERY_MINUTES,
      forecastObservationDays: c.FORECAST_OBSERVATION_DAYS,
    },
    fraudRings: { scanEveryMinutes: c.FRAUD_RING_SCAN_EVERY_MINUTES },
    commission: {
      holdingPeriodDays: c.HOLDING_PERIOD_DAYS,
      betaRetentionGateDays: c.BETA_RETENTION_GATE_DAYS,
      betaAutoBps: c.BETA_AUTO_COMMISSION_BPS,
      maxTotalRewardBps: c.MAX_TOTAL_REWARD_BPS,
    },
    fraud: {
      enabled: c.FRAUD_RULES === 'on',
      holdScore: c.FRAUD_HOLD_SCORE,
      referrerEdgesPerHour: c.FRAUD_REFERRER_EDGES_PER_HOUR,
      referrerEdgesPerDay: c.FRAUD_REFERRER_EDGES_PER_DAY,
      partnerEdgesPerHour: c.FRAUD_PARTNER_EDGES_PER_HOUR,
      partnerEdgesPerDay: c.FRAUD_PARTNER_EDGES_PER_DAY,
      ipSignupsPerHour: c.FRAUD_IP_SIGNUPS_PER_HOUR,
      ipBurstPerHour: c.FRAUD_IP_BURST_PER_HOUR,
      networkSignupsPerHour: c.FRAUD_NETWORK_SIGNUPS_PER_HOUR,
      sharedDeviceReferees: c.FRAUD_SHARED_DEVICE_REFEREES,
      sharedIpReferees: c.FRAUD_SHARED_IP_REFEREES,
      sharedCardReferees: c.FRAUD_SHARED_CARD_REFEREES,
      quickActivationSeconds: c.FRAUD_QUICK_ACTIVATION_SECONDS,
      disposableDomainsFile: c.FRAUD_DISPOSABLE_DOMAINS_FILE ?? null,
    },
  };
}
