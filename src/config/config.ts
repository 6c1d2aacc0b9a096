/**
 * The one configuration schema, validated at boot; nothing else reads process.env.
 * Keys: docs/operations.md#configuration.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { QuietHours } from '../recommendations/autopilot.js';
import type { AdviceThresholds } from '../recommendations/tier-advice.js';

/** Generated in development (installation-secrets.ts). */
export const secretKeys = ['JWT_SECRET', 'STRATA_OWNER_PASSWORD', 'STRATA_RUNTIME_PASSWORD', 'STRATA_ADMIN_PASSWORD', 'STRATA_EMBEDDED_PASSWORD'] as const;
export type SecretKey = (typeof secretKeys)[number];

/** Published in this repository, so refused outside tests. */
const publicSecretValues = new Set([
  'strata-owner-dev-password',
  'strata-app-dev-password',
  'strata-development-jwt-secret-change-me',
  'strata-admin-dev-password',
  'strata-embedded',
  'change-me-owner',
  'change-me-runtime',
  'change-me-to-a-long-random-secret-of-32-chars',
  'postgres',
]);

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const share = z.coerce.number().gt(0, 'must be above 0').max(1, 'must be at most 1');
/** Role names are interpolated into DDL: plain identifiers only. */
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,40}$/, 'lowercase letters, digits and _ only (max 41)');
const planLimitList = z
  .string()
  .regex(
    /^\s*[\w.-]{1,50}\s*=\s*[1-9]\d{0,8}\s*(,\s*[\w.-]{1,50}\s*=\s*[1-9]\d{0,8}\s*)*$/,
    'a list like free=60,trial=30 (plan=requests per minute, positive)',
  )
  .transform((list) =>
    Object.fromEntries(
      list.split(',').map((entry) => {
        const [plan, limit] = entry.split('=');
        return [plan!.trim(), Number(limit)];
      }),
    ),
  );

const unsetSecret = {
  production: 'must be set in production',
  development: 'is not set (npm start and the scripts generate it into STRATA_SECRETS_FILE)',
  test: 'must be set (tests set their own)',
} as const;

const fields = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  STRATA_TRUSTED_PROXIES: z
    .string()
    .regex(/^[0-9a-fA-F.:/]+(,\s*[0-9a-fA-F.:/]+)*$/, 'comma-separated IP addresses or CIDRs')
    .optional(),

  /** Needs rights to create roles and databases. Unset: embedded PostgreSQL. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  STRATA_EMBEDDED_DIR: z.string().min(1).default('.strata/postgres'),
  STRATA_EMBEDDED_PORT: port.default(54329),
  STRATA_EMBEDDED_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  STRATA_SECRETS_FILE: z.string().min(1).default('.strata/secrets/secrets.json'),
  // Max 20: `<prefix>_t_<40-char slug>` must fit PostgreSQL's 63-byte names (it cuts longer ones).
  STRATA_DB_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,19}$/, 'lowercase letters, digits and _, starting with a letter (max 20)')
    .default('strata'),

  STRATA_OWNER_ROLE: identifier.default('strata_owner'),
  STRATA_OWNER_PASSWORD: z.string().min(1).optional(),
  STRATA_RUNTIME_ROLE: identifier.default('strata_app'),
  STRATA_RUNTIME_PASSWORD: z.string().min(1).optional(),
  /** Tenant traffic to the default server goes here (e.g. PgBouncer), owner work direct. */
  STRATA_RUNTIME_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]+$/, 'a host name or IP address')
    .optional(),
  STRATA_RUNTIME_PORT: port.optional(),

  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_ISSUER: z.string().min(1).default('strata'),
  JWT_AUDIENCE: z.string().min(1).default('strata-api'),
  JWT_TTL_SECONDS: positiveInt.default(900),
  /** Differs from JWT_AUDIENCE: neither token kind opens the other's routes. */
  JWT_ADMIN_AUDIENCE: z.string().min(1).default('strata-admin'),

  STRATA_ADMIN_EMAIL: z.email().max(320).default('admin@strata.local'),
  STRATA_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),

  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Tenants are also named by host: `<slug>.<base domain>`. */
  STRATA_BASE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'a lowercase domain name')
    .optional(),

  // Pools and guards: docs/architecture.md#pools and #noisy-neighbour-guards.
  STRATA_POOL_MAX: positiveInt.default(10),
  STRATA_DEDICATED_POOL_MAX: positiveInt.default(3),
  STRATA_MAX_POOLS: positiveInt.default(50),
  STRATA_CONNECTION_BUDGET: positiveInt.default(80),
  STRATA_CONNECTION_WAIT_MS: positiveInt.optional(),
  /** STRATA_CONNECTION_WAIT_MS's former name; still read. */
  STRATA_TRANSACTION_WAIT_MS: positiveInt.optional(),
  STRATA_TENANT_QUEUE_WAIT_MS: positiveInt.default(2000),
  /** Catalog lookups' lifetime in memory without Redis invalidation. */
  STRATA_CATALOG_CACHE_MS: z.coerce.number().int().min(0).default(1000),
  /** Migrated schemas kept ready per server: provisioning is a rename. */
  STRATA_SPARE_SCHEMAS: z.coerce.number().int().min(0).max(100).default(2),
  /** Longer than any instance routes a moved tenant by a stale catalog entry. */
  STRATA_MOVE_GRACE_MS: z.coerce.number().int().min(0).default(60_000),
  /** 0: probe a server only after a failed connection (docs/servers.md). */
  STRATA_SERVER_PROBE_MS: z.coerce.number().int().min(0).default(5000),
  STRATA_SERVER_PROBE_TIMEOUT_MS: positiveInt.default(2000),
  STRATA_IMPORT_MAX_BYTES: positiveInt.default(4 * 1024 ** 3),

  STRATA_RATE_LIMIT_ANON_PER_MINUTE: positiveInt.default(120),
  STRATA_RATE_LIMIT_ADMIN_PER_MINUTE: positiveInt.default(600),
  STRATA_RATE_LIMIT_USER_SHARE: z.coerce.number().gt(0, 'must be above 0').max(1, 'must be at most 1').default(0.5),
  /** Overrides or adds to src/plans/plan-limits.ts. */
  STRATA_RATE_LIMIT_PLANS: planLimitList.optional(),
  /** Wrong passwords per window (src/auth/login-throttle.ts). */
  STRATA_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: positiveInt.default(5),
  STRATA_LOGIN_FAILURES_PER_ADDRESS: positiveInt.default(30),
  STRATA_LOGIN_FAILURES_PER_ACCOUNT: positiveInt.default(20),
  STRATA_LOGIN_LOCK_SECONDS: positiveInt.default(900),
  // Usage, tier advice and autopilot: docs/operations.md#per-tenant-load-and-tier-advice.
  STRATA_USAGE_FLUSH_MS: z.coerce.number().int().min(100).default(10_000),
  STRATA_USAGE_WINDOW_MS: z.coerce.number().int().min(100).default(60_000),
  STRATA_USAGE_RETENTION_HOURS: positiveInt.default(48),
  STRATA_USAGE_FOOTPRINT_MS: z.coerce.number().int().min(100).default(300_000),
  STRATA_ADVICE_WINDOW_MS: z.coerce.number().int().min(1000).default(3_600_000),
  STRATA_ADVICE_DB_TIME_SHARE: share.default(0.5),
  /** Below this a share is not counted: on a quiet server any tenant has a large one. */
  STRATA_ADVICE_MIN_DB_MS_PER_MINUTE: z.coerce.number().min(0).default(3000),
  STRATA_ADVICE_RATE_SHARE: share.default(0.8),
  STRATA_ADVICE_P99_MS: positiveInt.default(1000),
  STRATA_ADVICE_MIN_REQUESTS: positiveInt.default(100),
  STRATA_ADVICE_GUARD_REJECTIONS: positiveInt.default(10),
  STRATA_ADVICE_POOLED_MAX_ROWS: positiveInt.default(100_000),
  STRATA_ADVICE_POOLED_MAX_MB: positiveInt.default(100),
  STRATA_ADVICE_SCHEMA_MAX_ROWS: positiveInt.default(5_000_000),
  STRATA_ADVICE_SCHEMA_MAX_MB: positiveInt.default(5120),
  STRATA_ADVICE_IDLE_PER_MINUTE: z.coerce.number().min(0).default(1),
  STRATA_AUTOPILOT: z.stringbool().default(false),
  STRATA_AUTOPILOT_EVERY_MS: z.coerce.number().int().min(100).default(300_000),
  STRATA_AUTOPILOT_MAX_MOVES: positiveInt.default(1),
  STRATA_AUTOPILOT_HOURS: z
    .string()
    .regex(/^(\d|1\d|2[0-3])-(\d|1\d|2[0-4])$/, 'UTC hours like 2-5 (from 02:00 to 05:00) or 22-4')
    .transform((text) => {
      const [from, to] = text.split('-').map(Number) as [number, number];
      return { from, to };
    })
    .refine(({ from, to }) => from !== to, 'from and to must differ (0-24 is the whole day)')
    .default({ from: 2, to: 5 }),
  STRATA_METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  STRATA_PURGE_EXPORT_DIR: z.string().min(1).default('.strata/exports'),
  STRATA_SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
});

export const configKeys: readonly string[] = Object.keys(fields.shape);

const schema = fields.superRefine((env, ctx) => {
  if (env.JWT_ADMIN_AUDIENCE === env.JWT_AUDIENCE) {
    ctx.addIssue({ code: 'custom', path: ['JWT_ADMIN_AUDIENCE'], message: 'must differ from JWT_AUDIENCE' });
  }
  for (const key of secretKeys) {
    // The embedded server's superuser exists only without DATABASE_URL.
    if (key === 'STRATA_EMBEDDED_PASSWORD' && env.DATABASE_URL) continue;
    const value = env[key];
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: unsetSecret[env.NODE_ENV] });
    } else if (env.NODE_ENV !== 'test' && publicSecretValues.has(value)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'is a value published in Strata’s repository; choose a secret of your own' });
    }
  }
  if (env.NODE_ENV === 'production' && !env.DATABASE_URL) {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'must be set in production (embedded PostgreSQL is for development)' });
  }
});

type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  http: { host: string; port: number; logLevel: Env['LOG_LEVEL']; trustedProxies: string | undefined };
  database: {
    url: string | undefined;
    /** password: undefined with DATABASE_URL (no embedded server). */
    embedded: { dir: string; port: number; password: string | undefined };
    prefix: string;
    owner: { role: string; secretRef: string };
    /** host/port: null means where DATABASE_URL points. */
    runtime: { role: string; secretRef: string; host: string | null; port: number | null };
  };
  jwt: { secret: string; issuer: string; audience: string; adminAudience: string; ttlSeconds: number };
  admin: { email: string; passwordSecretRef: string };
  redisUrl: string | undefined;
  baseDomain: string | undefined;
  router: { poolMax: number; dedicatedPoolMax: number; maxPools: number; connectionBudget: number; connectionWaitMs: number; tenantQueueWaitMs: number };
  catalogCacheMs: number;
  spareSchemas: number;
  moves: { graceMs: number };
  serverProbe: { everyMs: number; timeoutMs: number };
  transfer: { importMaxBytes: number };
  rateLimit: { anonymousPerMinute: number; adminPerMinute: number; userShare: number; planOverrides: Record<string, number> };
  loginThrottle: { perAccountAddress: number; perAddress: number; perAccount: number; lockSeconds: number };
  usageFlushMs: number;
  usage: { windowMs: number; retentionMs: number; footprintMs: number };
  advice: { windowMs: number; thresholds: AdviceThresholds };
  autopilot: { enabled: boolean; everyMs: number; maxMoves: number; hours: QuietHours };
  purgeExportDir: string;
  metrics: { token: string | undefined };
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly issues: { key: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Throws a ConfigError naming every bad key. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(Object.keys(fields.shape).map((key) => [key, source[key] === '' ? undefined : source[key]]));
  const parsed = schema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ key: i.path.join('.') || '(root)', message: i.message })));
  }
  const env = parsed.data;
  return {
    env: env.NODE_ENV,
    http: { host: env.HOST, port: env.PORT, logLevel: env.LOG_LEVEL, trustedProxies: env.STRATA_TRUSTED_PROXIES },
    database: {
      url: env.DATABASE_URL,
      embedded: { dir: env.STRATA_EMBEDDED_DIR, port: env.STRATA_EMBEDDED_PORT, password: env.STRATA_EMBEDDED_PASSWORD },
      prefix: env.STRATA_DB_PREFIX,
      owner: { role: env.STRATA_OWNER_ROLE, secretRef: 'env:STRATA_OWNER_PASSWORD' },
      runtime: {
        role: env.STRATA_RUNTIME_ROLE,
        secretRef: 'env:STRATA_RUNTIME_PASSWORD',
        host: env.STRATA_RUNTIME_HOST ?? null,
        port: env.STRATA_RUNTIME_PORT ?? null,
      },
    },
    jwt: {
      secret: env.JWT_SECRET!,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      adminAudience: env.JWT_ADMIN_AUDIENCE,
      ttlSeconds: env.JWT_TTL_SECONDS,
    },
    admin: { email: env.STRATA_ADMIN_EMAIL.toLowerCase(), passwordSecretRef: 'env:STRATA_ADMIN_PASSWORD' },
    redisUrl: env.REDIS_URL,
    baseDomain: env.STRATA_BASE_DOMAIN,
    router: {
      poolMax: env.STRATA_POOL_MAX,
      dedicatedPoolMax: env.STRATA_DEDICATED_POOL_MAX,
      maxPools: env.STRATA_MAX_POOLS,
      connectionBudget: env.STRATA_CONNECTION_BUDGET,
      connectionWaitMs: env.STRATA_CONNECTION_WAIT_MS ?? env.STRATA_TRANSACTION_WAIT_MS ?? 10_000,
      tenantQueueWaitMs: env.STRATA_TENANT_QUEUE_WAIT_MS,
    },
    catalogCacheMs: env.STRATA_CATALOG_CACHE_MS,
    spareSchemas: env.STRATA_SPARE_SCHEMAS,
    moves: { graceMs: env.STRATA_MOVE_GRACE_MS },
    serverProbe: { everyMs: env.STRATA_SERVER_PROBE_MS, timeoutMs: env.STRATA_SERVER_PROBE_TIMEOUT_MS },
    transfer: { importMaxBytes: env.STRATA_IMPORT_MAX_BYTES },
    rateLimit: {
      anonymousPerMinute: env.STRATA_RATE_LIMIT_ANON_PER_MINUTE,
      adminPerMinute: env.STRATA_RATE_LIMIT_ADMIN_PER_MINUTE,
      userShare: env.STRATA_RATE_LIMIT_USER_SHARE,
      planOverrides: env.STRATA_RATE_LIMIT_PLANS ?? {},
    },
    loginThrottle: {
      perAccountAddress: env.STRATA_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS,
      perAddress: env.STRATA_LOGIN_FAILURES_PER_ADDRESS,
      perAccount: env.STRATA_LOGIN_FAILURES_PER_ACCOUNT,
      lockSeconds: env.STRATA_LOGIN_LOCK_SECONDS,
    },
    usageFlushMs: env.STRATA_USAGE_FLUSH_MS,
    usage: { windowMs: env.STRATA_USAGE_WINDOW_MS, retentionMs: env.STRATA_USAGE_RETENTION_HOURS * 3_600_000, footprintMs: env.STRATA_USAGE_FOOTPRINT_MS },
    advice: {
      windowMs: env.STRATA_ADVICE_WINDOW_MS,
      thresholds: {
        dbTimeShare: env.STRATA_ADVICE_DB_TIME_SHARE,
        minDbMsPerMinute: env.STRATA_ADVICE_MIN_DB_MS_PER_MINUTE,
        rateShare: env.STRATA_ADVICE_RATE_SHARE,
        p99Ms: env.STRATA_ADVICE_P99_MS,
        minRequests: env.STRATA_ADVICE_MIN_REQUESTS,
        guardRejections: env.STRATA_ADVICE_GUARD_REJECTIONS,
        maxRows: { pooled: env.STRATA_ADVICE_POOLED_MAX_ROWS, schema: env.STRATA_ADVICE_SCHEMA_MAX_ROWS },
        maxStorageBytes: { pooled: env.STRATA_ADVICE_POOLED_MAX_MB * 1024 ** 2, schema: env.STRATA_ADVICE_SCHEMA_MAX_MB * 1024 ** 2 },
        idlePerMinute: env.STRATA_ADVICE_IDLE_PER_MINUTE,
      },
    },
    autopilot: {
      enabled: env.STRATA_AUTOPILOT,
      everyMs: env.STRATA_AUTOPILOT_EVERY_MS,
      maxMoves: env.STRATA_AUTOPILOT_MAX_MOVES,
      hours: env.STRATA_AUTOPILOT_HOURS,
    },
    purgeExportDir: env.STRATA_PURGE_EXPORT_DIR,
    metrics: { token: env.STRATA_METRICS_TOKEN },
    shutdownTimeoutMs: env.STRATA_SHUTDOWN_TIMEOUT_MS,
  };
}

/** `env:NAME` reads NAME; the catalog stores references, never secrets. */
export function resolveSecret(ref: string, source: Record<string, string | undefined> = process.env): string {
  const match = /^env:([A-Z_][A-Z0-9_]*)$/.exec(ref);
  if (!match) throw new ConfigError([{ key: ref, message: 'secret reference must look like env:NAME' }]);
  const name = match[1]!;
  const value = source[name];
  if (!value) throw new ConfigError([{ key: name, message: 'secret referenced by the catalog is not set' }]);
  return value;
}

/** The generated-secrets file; undefined outside development. */
export function secretsFileOf(source: Record<string, string | undefined>): string | undefined {
  const picked = fields.pick({ NODE_ENV: true, STRATA_SECRETS_FILE: true }).safeParse({
    NODE_ENV: source.NODE_ENV || undefined,
    STRATA_SECRETS_FILE: source.STRATA_SECRETS_FILE || undefined,
  });
  return picked.success && picked.data.NODE_ENV === 'development' ? picked.data.STRATA_SECRETS_FILE : undefined;
}

/** Variables already set win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
