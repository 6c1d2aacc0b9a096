/**
 * Test fixtures: each test file gets its own Strata installation (catalog and tenants databases
 * under a unique prefix) on the real PostgreSQL that `npm test` provides, torn down afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import type { Test } from 'tap';
import { createAdminAccount } from '../src/admin/admin-accounts.js';
import { signAdminToken } from '../src/admin/admin-tokens.js';
import { buildApp } from '../src/app.js';
import { signAccessToken, type AccessClaims } from '../src/auth/tokens.js';
import type { Tenant } from '../src/catalog/catalog-client.js';
import { loadConfig } from '../src/config/config.js';
import { installationPrefix, releaseInstallation } from './support/installations.js';
import { testSecrets } from './support/test-secrets.js';
import { startPlatform, type Platform } from '../src/platform/platform.js';
import { connectionConfig } from '../src/servers/server-access.js';
import { tiers, type Tier } from '../src/tenants/placement.js';
import { provisionTenant } from '../src/tenants/provision-tenant.js';
import { createUser } from '../src/users/user-store.js';

export { tiers, type Tier };

export function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`, which provides a database');
  return url;
}

export function testConfig(overrides: Record<string, string> = {}) {
  const prefix = installationPrefix();
  return loadConfig({
    ...testSecrets,
    DATABASE_URL: adminUrl(),
    REDIS_URL: process.env.REDIS_URL,
    LOG_LEVEL: 'silent',
    STRATA_DB_PREFIX: prefix,
    // Production limits would throttle the suites; test/http/rate-limit.test.ts lowers them instead.
    STRATA_RATE_LIMIT_PLANS: 'free=1000000',
    STRATA_RATE_LIMIT_ANON_PER_MINUTE: '1000000',
    STRATA_RATE_LIMIT_ADMIN_PER_MINUTE: '1000000',
    STRATA_RATE_LIMIT_USER_SHARE: '1',
    // Plans cap each tenant's concurrent statements; a loaded machine would turn a suite's bursts
    // into 503s after the production wait. test/http/tenant-guards.test.ts lowers it instead.
    STRATA_TENANT_QUEUE_WAIT_MS: '10000',
    // test/auth/login-throttle.test.ts lowers these.
    STRATA_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '1000000',
    STRATA_LOGIN_FAILURES_PER_ADDRESS: '1000000',
    STRATA_LOGIN_FAILURES_PER_ACCOUNT: '1000000',
    ...overrides,
  });
}

/** A running platform with its own databases, dropped when the test ends. */
export async function startTestPlatform(t: Test, overrides: Record<string, string> = {}): Promise<Platform> {
  const config = testConfig(overrides);
  const platform = await startPlatform(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  t.teardown(async () => {
    await platform.close();
    await releaseInstallation(adminUrl(), config.database.prefix);
  });
  return platform;
}

/** One active tenant on `tier`, with a slug unique to this installation. */
export function provision(platform: Platform, tier: Tier, label: string, plan = 'free', server?: string): Promise<Tenant> {
  return provisionTenant(platform.provisioning, { slug: `${label}-${tier}`, name: `${label} on ${tier}`, plan, tier, server });
}

/** Two tenants (a, b) on each tier. */
export async function tenantPairs(platform: Platform) {
  const pairs = {} as Record<Tier, { a: Tenant; b: Tenant }>;
  for (const tier of tiers) {
    pairs[tier] = { a: await provision(platform, tier, 'alpha'), b: await provision(platform, tier, 'beta') };
  }
  return pairs;
}

/** Connects as the runtime role to a tenant's database, as tenant traffic does. */
export async function runtimeConnection(t: Test, platform: Platform, tenant: Tenant) {
  const server = await platform.servers.byId(tenant.serverId);
  const client = new pg.Client(connectionConfig(server, 'runtime', tenant.databaseName));
  await client.connect();
  t.teardown(() => client.end());
  return client;
}

export async function testApp(t: Test, platform: Platform) {
  const app = await buildApp({ config: platform.config, platform });
  t.teardown(() => app.close());
  await app.ready();
  return app;
}

/** A token naming no user of the tenant (like an operator's), unless `sub` is given. */
export function tokenFor(platform: Platform, tenant: Tenant, role: AccessClaims['role'] = 'owner', sub: string = randomUUID()) {
  return signAccessToken(platform.config.jwt, { sub, tid: tenant.id, role });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A real user of `tenant` (in its tier and the login index) with a token for it. */
export async function userWithToken(platform: Platform, tenant: Tenant, role: AccessClaims['role'], password = 'correct horse battery') {
  const email = `${role}-${randomBytes(3).toString('hex')}@${tenant.slug}.example`;
  const { user } = await createUser(
    { db: platform.router.clientFor(tenant), catalog: platform.catalog, tenantId: tenant.id },
    { email, name: `${role} of ${tenant.slug}`, role, password },
  );
  return { user, email, password, token: signAccessToken(platform.config.jwt, { sub: user.id, tid: tenant.id, role, ver: user.version }) };
}

/** A new platform admin account and a bearer token for it (use with `bearer`). */
export async function adminToken(platform: Platform): Promise<string> {
  const admin = await createAdminAccount(platform.catalog, {
    email: `admin-${randomBytes(4).toString('hex')}@platform.example`,
    password: randomBytes(12).toString('base64url'),
  });
  return signAdminToken(platform.config.jwt, admin);
}
