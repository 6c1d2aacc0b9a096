/** The composition root of Strata's core, without HTTP: the API, scripts and tests start here. */
import { assertDriverInternals } from './driver-internals.js';
import pg from 'pg';
import type { Log } from './log.js';
import { createCatalogClient, type CatalogClient, type Tenant } from '../catalog/catalog-client.js';
import { CatalogEvents } from '../catalog/catalog-events.js';
import { ServerDirectory } from '../catalog/server-directory.js';
import { TenantDirectory } from '../catalog/tenant-directory.js';
import { UserStanding } from '../auth/user-standing.js';
import { type Config, resolveSecret } from '../config/config.js';
import { applyMigrations } from '../migrations/apply-migrations.js';
import { readBaseline } from '../migrations/baseline.js';
import { baselinePaths, migrationDirs, readMigrations } from '../migrations/migration-files.js';
import { PoolRegistry } from '../router/pool-registry.js';
import { noGuards } from '../router/tenant-guards.js';
import { TenantRouter } from '../router/tenant-router.js';
import { tenantGuards } from '../settings/tenant-config.js';
import { bootstrapServer } from '../servers/bootstrap-server.js';
import { OwnerPools } from '../servers/owner-pools.js';
import { ServerHealth } from '../servers/server-health.js';
import { SparePool } from '../tenants/spare-schemas.js';
import { FootprintSampler } from '../usage/footprint.js';
import { TenantLoad } from '../usage/tenant-load.js';
import { connectionConfig, type ServerRecord, withOwnerConnection } from '../servers/server-access.js';
import type { ProvisioningDeps } from '../tenants/provision-tenant.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.js';

export interface Platform {
  config: Config;
  log: Log;
  /** Superuser URL of the default server. */
  adminUrl: string;
  catalog: CatalogClient;
  servers: ServerDirectory;
  tenants: TenantDirectory;
  /** Role, status and password changes revoke a tenant user's tokens. */
  userStanding: UserStanding;
  router: TenantRouter;
  load: TenantLoad;
  provisioning: ProvisioningDeps;
  defaultServer: ServerRecord;
  /** Periodic probes start with the API (server-routes.ts). */
  serverHealth: ServerHealth;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const defaultServerName = 'default';

export function databaseNames(prefix: string) {
  return { catalog: `${prefix}_catalog`, tenants: `${prefix}_tenants` };
}

export interface StartOptions {
  /** Migrate the pooled tables too (the catalog always is); off for the migrate command. */
  migratePooled?: boolean;
}

export async function startPlatform(config: Config, log: Log, options: StartOptions = {}): Promise<Platform> {
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    await assertDriverInternals();
    let embedded: EmbeddedServer | undefined;
    if (!config.database.url) {
      embedded = await startEmbeddedPostgres({ ...config.database.embedded, log });
      cleanup.push(() => embedded!.stop());
    }
    const adminUrl = config.database.url ?? embedded!.url;
    const names = databaseNames(config.database.prefix);
    const { owner, runtime } = config.database;
    await bootstrapServer({
      adminUrl,
      owner: { role: owner.role, password: resolveSecret(owner.secretRef) },
      runtime: { role: runtime.role, password: resolveSecret(runtime.secretRef) },
      databases: [
        { name: names.catalog, runtimeConnects: false },
        { name: names.tenants, runtimeConnects: true },
      ],
    });

    const url = new URL(adminUrl);
    const draft: ServerRecord = {
      id: '',
      name: defaultServerName,
      host: url.hostname,
      port: Number(url.port || 5432),
      tenantsDatabase: names.tenants,
      ownerRole: owner.role,
      ownerSecretRef: owner.secretRef,
      runtimeRole: runtime.role,
      runtimeSecretRef: runtime.secretRef,
      runtimeHost: runtime.host,
      runtimePort: runtime.port,
      maxConnections: config.router.connectionBudget,
    };
    const [catalogMigrations, tenantMigrations] = await Promise.all([readMigrations(migrationDirs.catalog), readMigrations(migrationDirs.tenant)]);
    const tenantBaseline = await readBaseline(baselinePaths.tenant, tenantMigrations);
    await withOwnerConnection(draft, names.catalog, (client) => applyMigrations(client, { schema: 'public', migrations: catalogMigrations }));
    if (options.migratePooled ?? true) {
      await withOwnerConnection(draft, names.tenants, (client) =>
        applyMigrations(client, { schema: 'public', migrations: tenantMigrations, baseline: tenantBaseline, runtimeRole: runtime.role }),
      );
    }

    const catalog = createCatalogClient(connectionConfig(draft, 'owner', names.catalog));
    cleanup.unshift(() => catalog.$disconnect());
    const { id: _id, ...fields } = draft;
    // Written only on change: every write makes the other instances reconnect.
    const recorded = await catalog.databaseServer.findUnique({ where: { name: defaultServerName } });
    const defaultServer =
      recorded && Object.entries(fields).every(([key, value]) => recorded[key as keyof typeof fields] === value)
        ? recorded
        : await catalog.databaseServer.upsert({ where: { name: defaultServerName }, create: fields, update: fields });

    const events = config.redisUrl ? await CatalogEvents.connect(config.redisUrl, log, config.database.prefix) : undefined;
    if (events) cleanup.unshift(() => events.close());
    // Changes announced over Redis let entries live longer; unannounced ones are bounded by the TTL.
    const lookups = new pg.Pool({ ...connectionConfig(draft, 'owner', names.catalog), max: 3, application_name: 'strata-catalog-lookups' });
    lookups.on('error', (err) => log.warn({ err }, 'idle catalog lookup connection failed'));
    cleanup.unshift(() => lookups.end());
    const cacheTtl = { announced: 30_000, unannounced: config.catalogCacheMs };
    const tenants = new TenantDirectory(lookups, cacheTtl, events);
    const userStanding = new UserStanding(cacheTtl, events);
    const servers = new ServerDirectory(catalog, cacheTtl, events);
    cleanup.unshift(async () => servers.close());
    const serverHealth = new ServerHealth(catalog, log, { ...config.serverProbe, prefix: config.database.prefix });
    cleanup.unshift(async () => serverHealth.close());
    // A failed connection has the server probed at once, not at the next period.
    const registry = new PoolRegistry(
      config.router,
      (id) => servers.byId(id),
      log,
      (id) => serverHealth.suspect(id),
    );
    const router = new TenantRouter({
      registry,
      connectionWaitMs: config.router.connectionWaitMs,
      // Catalog rows carry plan and config; a bare placement gets no guards.
      guardsFor: (tenant) => ('plan' in tenant ? tenantGuards(tenant as Tenant, config.rateLimit.planOverrides) : noGuards),
    });
    cleanup.unshift(() => router.close());
    tenants.onChange((tenantId) => (tenantId === '*' ? router.forgetAll() : router.forget(tenantId)));

    const owners = new OwnerPools();
    cleanup.unshift(() => owners.closeAll());
    // A server's changed row (endpoint, credentials) reaches new connections only: the open ones are closed.
    servers.onChange((serverId) => {
      for (const close of [registry.closeServer(serverId), owners.closeServer(serverId)]) {
        close.catch((err: unknown) => log.warn({ err, serverId }, 'closing the connections of a changed server failed'));
      }
    });
    const load = new TenantLoad(catalog, log, { windowMs: config.usage.windowMs, flushMs: config.usageFlushMs, retentionMs: config.usage.retentionMs });
    router.guardRejections.onRejection((tenantId) => load.guardRejection(tenantId));
    router.observe({ onStatement: (e) => load.statements(e.tenantId, e.durationMs, e.statements, e.rowsWritten) });
    const footprints = new FootprintSampler(load, { catalog, servers, owners }, log, config.usage.footprintMs);
    cleanup.unshift(() => load.close());
    cleanup.unshift(() => footprints.close());

    const spares = new SparePool(owners, tenantMigrations, tenantBaseline, config.spareSchemas, log);
    cleanup.unshift(() => spares.settle());
    spares.refill(defaultServer);

    const health = new pg.Pool({ ...connectionConfig(defaultServer, 'runtime', names.tenants), max: 1 });
    health.on('error', (err) => log.warn({ err }, 'health check connection failed'));
    cleanup.unshift(() => health.end());
    let closed = false;

    return {
      config,
      log,
      adminUrl,
      catalog,
      servers,
      tenants,
      userStanding,
      router,
      load,
      defaultServer,
      serverHealth,
      provisioning: {
        catalog,
        servers,
        prefix: config.database.prefix,
        tenantMigrations,
        tenantBaseline,
        owners,
        spares,
        announce: (tenantId) => tenants.changed(tenantId),
      },
      async ping() {
        // A closed catalog client would silently reconnect (and keep the process alive) to answer.
        if (closed) throw new Error('the platform is closed');
        await Promise.all([catalog.$queryRaw`SELECT 1`, health.query('SELECT 1')]);
      },
      close: () => {
        closed = true;
        return runAll(cleanup);
      },
    };
  } catch (err) {
    await runAll(cleanup);
    throw err;
  }
}

async function runAll(steps: (() => Promise<unknown>)[]) {
  for (const step of steps.splice(0)) await step().catch(() => undefined);
}
