/**
 * The one configuration schema. Every setting comes from the environment, is validated here at
 * boot, and is typed from this schema; nothing else reads process.env.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';

/** Public development defaults for secrets; refused in production. */
const devDefaults = {
  STRATA_OWNER_PASSWORD: 'strata-owner-dev-password',
  STRATA_RUNTIME_PASSWORD: 'strata-app-dev-password',
  JWT_SECRET: 'strata-development-jwt-secret-change-me',
  STRATA_ADMIN_PASSWORD: 'strata-admin-dev-password',
} as const;

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
/** Role names are interpolated into DDL, so they are restricted to plain identifiers. */
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,40}$/, 'lowercase letters, digits and _ only (max 41)');
/** `plan=requests per minute`, comma-separated, e.g. `free=60,trial=30`. */
const planLimitList = z
  .string()
  .regex(/^\s*[\w.-]{1,50}\s*=\s*[1-9]\d{0,8}\s*(,\s*[\w.-]{1,50}\s*=\s*[1-9]\d{0,8}\s*)*$/, 'a list like free=60,trial=30 (plan=requests per minute, positive)')
  .transform((list) =>
    Object.fromEntries(
      list.split(',').map((entry) => {
        const [plan, limit] = entry.split('=');
        return [plan!.trim(), Number(limit)];
      }),
    ),
  );

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: port.default(3000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Addresses or CIDRs of the proxies in front of the API, whose X-Forwarded-For names the client. */
    STRATA_TRUSTED_PROXIES: z
      .string()
      .regex(/^[0-9a-fA-F.:/]+(,\s*[0-9a-fA-F.:/]+)*$/, 'comma-separated IP addresses or CIDRs')
      .optional(),

    /** A server URL with rights to create roles and databases. Unset: embedded PostgreSQL. */
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    STRATA_EMBEDDED_DIR: z.string().min(1).default('.strata/postgres'),
    STRATA_EMBEDDED_PORT: port.default(54329),
    /** Prefix of every database Strata creates: `<prefix>_catalog`, `<prefix>_tenants`, `<prefix>_t_<slug>`. */
    // Short enough that `<prefix>_t_<40-char slug>` fits PostgreSQL's 63-byte names (longer ones are silently cut).
    STRATA_DB_PREFIX: z.string().regex(/^[a-z][a-z0-9_]{0,19}$/, 'lowercase letters, digits and _, starting with a letter (max 20)').default('strata'),

    STRATA_OWNER_ROLE: identifier.default('strata_owner'),
    STRATA_OWNER_PASSWORD: z.string().min(1).default(devDefaults.STRATA_OWNER_PASSWORD),
    STRATA_RUNTIME_ROLE: identifier.default('strata_app'),
    STRATA_RUNTIME_PASSWORD: z.string().min(1).default(devDefaults.STRATA_RUNTIME_PASSWORD),
    /**
     * Where tenant traffic to the default server connects instead of DATABASE_URL's host and port,
     * e.g. a PgBouncer in transaction mode (infra/pgbouncer.ini). Owner work always goes direct.
     */
    STRATA_RUNTIME_HOST: z.string().regex(/^[A-Za-z0-9.:-]+$/, 'a host name or IP address').optional(),
    STRATA_RUNTIME_PORT: port.optional(),

    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').default(devDefaults.JWT_SECRET),
    JWT_ISSUER: z.string().min(1).default('strata'),
    JWT_AUDIENCE: z.string().min(1).default('strata-api'),
    JWT_TTL_SECONDS: positiveInt.default(900),
    /** Audience of platform admins' tokens; must differ from JWT_AUDIENCE so neither kind opens the other's routes. */
    JWT_ADMIN_AUDIENCE: z.string().min(1).default('strata-admin'),

    /** The bootstrap platform admin, created (or its password reset) at boot. */
    STRATA_ADMIN_EMAIL: z.email().max(320).default('admin@strata.local'),
    STRATA_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').default(devDefaults.STRATA_ADMIN_PASSWORD),

    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    /** Tenants are also named by host: `<slug>.<base domain>` (e.g. acme.app.example.com). */
    STRATA_BASE_DOMAIN: z.string().regex(/^[a-z0-9.-]+$/, 'a lowercase domain name').optional(),

    /** Connections of the per-server pool shared by pooled and schema tenants. */
    STRATA_POOL_MAX: positiveInt.default(10),
    /** Connections of each dedicated tenant's pool. */
    STRATA_DEDICATED_POOL_MAX: positiveInt.default(3),
    /** Most pools kept open at once (least recently used are closed first). */
    STRATA_MAX_POOLS: positiveInt.default(50),
    /** Most tenant-traffic connections this process may hold across all pools. */
    STRATA_CONNECTION_BUDGET: positiveInt.default(80),
    /** How long a tenant statement or transaction waits for a connection before its request is answered 503. */
    STRATA_CONNECTION_WAIT_MS: positiveInt.optional(),
    /** The name STRATA_CONNECTION_WAIT_MS had when it bounded transactions only; still read. */
    STRATA_TRANSACTION_WAIT_MS: positiveInt.optional(),
    /** How long a catalog lookup may be served from memory when Redis invalidation is unavailable. */
    STRATA_CATALOG_CACHE_MS: z.coerce.number().int().min(0).default(1000),
    /** Migrated schemas kept ready per server, so provisioning a schema tenant is a rename; 0 disables. */
    STRATA_SPARE_SCHEMAS: z.coerce.number().int().min(0).max(100).default(2),
    /**
     * After a tier move switches a tenant, how long its old location is kept (fenced) before it is
     * dropped: longer than any instance can route by a stale catalog entry (30 s with Redis).
     */
    STRATA_MOVE_GRACE_MS: z.coerce.number().int().min(0).default(60_000),
    /** Largest tenant archive POST /admin/tenants/:id/import accepts, in bytes (streamed, never buffered). */
    STRATA_IMPORT_MAX_BYTES: positiveInt.default(4 * 1024 ** 3),

    /** Requests per minute per client IP on routes that serve no tenant (health, docs, login). */
    STRATA_RATE_LIMIT_ANON_PER_MINUTE: positiveInt.default(120),
    /** Per-plan requests per minute overriding or adding to src/plans/plan-limits.ts. */
    STRATA_RATE_LIMIT_PLANS: planLimitList.optional(),
    /** How often each instance adds its in-memory per-tenant request counts to the catalog. */
    STRATA_USAGE_FLUSH_MS: z.coerce.number().int().min(100).default(10_000),
    /** Where purging a tenant first writes its export archive. */
    STRATA_PURGE_EXPORT_DIR: z.string().min(1).default('.strata/exports'),
  })
  .superRefine((env, ctx) => {
    if (env.JWT_ADMIN_AUDIENCE === env.JWT_AUDIENCE) {
      ctx.addIssue({ code: 'custom', path: ['JWT_ADMIN_AUDIENCE'], message: 'must differ from JWT_AUDIENCE' });
    }
    if (env.NODE_ENV !== 'production') return;
    for (const key of Object.keys(devDefaults) as (keyof typeof devDefaults)[]) {
      if (env[key] === devDefaults[key]) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must be set in production (the development default is public)' });
      }
    }
    if (!env.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'must be set in production (embedded PostgreSQL is for development)' });
    }
  });

type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  http: { host: string; port: number; logLevel: Env['LOG_LEVEL']; trustedProxies: string | undefined };
  database: {
    url: string | undefined;
    embedded: { dir: string; port: number };
    prefix: string;
    owner: { role: string; secretRef: string };
    /** host/port: null when tenant traffic connects where DATABASE_URL does. */
    runtime: { role: string; secretRef: string; host: string | null; port: number | null };
  };
  jwt: { secret: string; issuer: string; audience: string; adminAudience: string; ttlSeconds: number };
  /** The bootstrap admin; its password is read through the reference, like the roles' passwords. */
  admin: { email: string; passwordSecretRef: string };
  redisUrl: string | undefined;
  baseDomain: string | undefined;
  router: { poolMax: number; dedicatedPoolMax: number; maxPools: number; connectionBudget: number; connectionWaitMs: number };
  catalogCacheMs: number;
  spareSchemas: number;
  moves: { graceMs: number };
  transfer: { importMaxBytes: number };
  rateLimit: { anonymousPerMinute: number; planOverrides: Record<string, number> };
  usageFlushMs: number;
  purgeExportDir: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: { key: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment; throws a ConfigError naming every bad key. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(schema.shape).map((key) => [key, source[key] === '' ? undefined : source[key]]),
  );
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
      embedded: { dir: env.STRATA_EMBEDDED_DIR, port: env.STRATA_EMBEDDED_PORT },
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
      secret: env.JWT_SECRET,
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
    },
    catalogCacheMs: env.STRATA_CATALOG_CACHE_MS,
    spareSchemas: env.STRATA_SPARE_SCHEMAS,
    moves: { graceMs: env.STRATA_MOVE_GRACE_MS },
    transfer: { importMaxBytes: env.STRATA_IMPORT_MAX_BYTES },
    rateLimit: { anonymousPerMinute: env.STRATA_RATE_LIMIT_ANON_PER_MINUTE, planOverrides: env.STRATA_RATE_LIMIT_PLANS ?? {} },
    usageFlushMs: env.STRATA_USAGE_FLUSH_MS,
    purgeExportDir: env.STRATA_PURGE_EXPORT_DIR,
  };
}

/**
 * Resolves a secret reference stored in the catalog (which never holds secrets itself).
 * `env:NAME` reads the variable NAME; defaults apply to Strata's own role passwords so a
 * development setup needs no variables at all.
 */
export function resolveSecret(ref: string, source: Record<string, string | undefined> = process.env): string {
  const match = /^env:([A-Z_][A-Z0-9_]*)$/.exec(ref);
  if (!match) throw new ConfigError([{ key: ref, message: 'secret reference must look like env:NAME' }]);
  const name = match[1]!;
  const value = source[name] || devDefaults[name as keyof typeof devDefaults];
  if (!value) throw new ConfigError([{ key: name, message: 'secret referenced by the catalog is not set' }]);
  return value;
}

/** Reads `.env` into the environment when present; variables already set win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
