// Configuration is read once, at start-up, into a typed object. A bad or missing variable stops
// start-up with a message naming it.
import { z } from 'zod';
import {
  DEFAULT_FLAVORS,
  DEFAULT_PERSONAL_CODE_LIMITS,
  type FlavorTable,
  type PersonalCodeLimits,
} from '../domain/invite-flavors.ts';
import { DEFAULT_TRACK_WINDOW_MINUTES } from '../domain/attribution.ts';
import { DEFAULT_MAX_TOTAL_REWARD_BPS } from '../domain/partner-settings.ts';
import type { CommissionSettings } from '../domain/commission.ts';
import type { StripeSettings } from './stripe.ts';
import type { WavePlanSettings } from '../domain/waves.ts';

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
  TRACK_WINDOW_MINUTES: z.coerce.number().int().min(1).max(10_080).default(DEFAULT_TRACK_WINDOW_MINUTES),
  PERSONAL_CODES_PER_USER: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_PERSONAL_CODE_LIMITS.perUser),
  PERSONAL_CODE_MAX_USES: z.coerce.number().int().min(1).max(1_000).default(DEFAULT_PERSONAL_CODE_LIMITS.maxUses),
  MAX_TOTAL_REWARD_BPS: z.coerce.number().int().min(0).max(10_000).default(DEFAULT_MAX_TOTAL_REWARD_BPS),
});

const flavorSettings = z.strictObject({
  prefix: z.string().regex(/^[A-Z0-9]{1,12}$/),
  landingPage: z.string().startsWith('/'),
  defaultCredits: z.number().int().min(0),
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
  const merged = flavorTable.safeParse({ ...DEFAULT_FLAVORS, ...(json as object) });
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
  rateLimitPerMinute: number;
  flavors: FlavorTable;
  /** Personal invite codes a user may hold, and the uses each may have. */
  personalCodes: PersonalCodeLimits;
  /** Minutes after signup an unattributed user may still bind a referrer (POST /v1/referrals/track). */
  trackWindowMinutes: number;
  commission: CommissionSettings;
  stripe: StripeSettings;
  waves: WaveSettings;
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
    publicBaseUrl: c.PUBLIC_BASE_URL ?? `http://localhost:${c.PORT}`,
    smtpUrl: c.SMTP_URL ?? null,
    mailFrom: c.MAIL_FROM,
    rateLimitPerMinute: c.RATE_LIMIT_PER_MINUTE,
    flavors: parseFlavors(c.INVITE_FLAVORS),
    personalCodes: { perUser: c.PERSONAL_CODES_PER_USER, maxUses: c.PERSONAL_CODE_MAX_USES },
    trackWindowMinutes: c.TRACK_WINDOW_MINUTES,
    stripe: {
      secretKey: c.STRIPE_SECRET_KEY ?? null,
      apiBase: c.STRIPE_API_BASE ?? null,
      webhookSecret: c.STRIPE_WEBHOOK_SECRET ?? null,
      rateLimitPerSecond: c.STRIPE_RATE_LIMIT_PER_SECOND,
      concurrency: c.PAYOUT_CONCURRENCY,
    },
    waves: {
      targetWaitDays: c.WAITLIST_TARGET_WAIT_DAYS,
      cadenceDays: c.WAVE_CADENCE_DAYS,
      leadDays: c.WAVE_LEAD_DAYS,
      releaseEveryMinutes: c.WAVE_RELEASE_EVERY_MINUTES,
      forecastObservationDays: c.FORECAST_OBSERVATION_DAYS,
    },
    commission: {
      holdingPeriodDays: c.HOLDING_PERIOD_DAYS,
      betaRetentionGateDays: c.BETA_RETENTION_GATE_DAYS,
      betaAutoBps: c.BETA_AUTO_COMMISSION_BPS,
      maxTotalRewardBps: c.MAX_TOTAL_REWARD_BPS,
    },
  };
}
