/**
 * The composition root of Strata's core, without HTTP: connects to (or starts) PostgreSQL,
 * prepares the default server, migrates the catalog and the pooled tables, and wires the
 * catalog, the directories and the tier router. The API, scripts and tests all start here.
 */
import pg from 'pg';
import type { Log } from './log.js';
import { createCatalogClient, type CatalogClient } from '../catalog/catalog-client.js';
import { CatalogEvents } from '../catalog/catalog-events.js';
import { ServerDirectory } from '../catalog/server-directory.js';
import { TenantDirectory } from '../catalog/tenant-directory.js';
import { type Config, resolveSecret } from '../config/config.js';
import { applyMigrations } from '../migrations/apply-migrations.js';
import { readBaseline } from '../migrations/baseline.js';
import { baselinePaths, migrationDirs, readMigrations } from '../migrations/migration-files.js';
import { PoolRegistry } from '../router/pool-registry.js';
import { TenantRouter } from '../router/tenant-router.js';
import { bootstrapServer } from '../servers/bootstrap-server.js';
import { OwnerPools } from '../servers/owner-pools.js';
import { SparePool } from '../tenants/spare-schemas.js';
import { connectionConfig, type ServerRecord, withOwnerConnection } from '../servers/server-access.js';
import type { ProvisioningDeps } from '../tenants/provision-tenant.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.js';

export interface Platform {
  config: Config;
  log: Log;
  /** Superuser URL of the default server (the configured one, or the embedded one). */
  adminUrl: string;
  catalog: CatalogClient;
  servers: ServerDirectory;
  tenants: TenantDirectory;
  router: TenantRouter;
  provisioning: ProvisioningDeps;
  defaultServer: ServerRecord;
  /** Checks that the catalog and the default server answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const defaultServerName = 'default';

export function databaseNames(prefix: string) {
  return { catalog: `${prefix}_catalog`, tenants: `${prefix}_tenants` };
}

export interface StartOptions {
  /**
   * Bring the pooled tables to the current version on start (the catalog always is). The migrate
   * command turns it off: there, every tenant target is the runner's, status shows it pending.
   */
  migratePooled?: boolean;
}

export async function startPlatform(config: Config, log: Log, options: StartOptions = {}): Promise<Platform> {
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
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
    const [catalogMigrations, tenantMigrations] = await Promise.all([
      readMigrations(migrationDirs.catalog),
      readMigrations(migrationDirs.tenant),
    ]);
    const tenantBaseline = await readBaseline(baselinePaths.tenant, tenantMigrations);
    await withOwnerConnection(draft, names.catalog, (client) =>
      applyMigrations(client, { schema: 'public', migrations: catalogMigrations }),
    );
    if (options.migratePooled ?? true) {
      await withOwnerConnection(draft, names.tenants, (client) =>
        applyMigrations(client, { schema: 'public', migrations: tenantMigrations, baseline: tenantBaseline, runtimeRole: runtime.role }),
      );
    }

    const catalog = createCatalogClient(connectionConfig(draft, 'owner', names.catalog));
    cleanup.unshift(() => catalog.$disconnect());
    const { id: _id, ...fields } = draft;
    const defaultServer = await catalog.databaseServer.upsert({
      where: { name: defaultServerName },
      create: fields,
      update: fields,
    });

    const events = config.redisUrl ? await CatalogEvents.connect(config.redisUrl, log, config.database.prefix) : undefined;
    if (events) cleanup.unshift(() => events.close());
    // Changes announced over Redis let entries live longer; unannounced ones are bounded by the TTL.
    const lookups = new pg.Pool({ ...connectionConfig(draft, 'owner', names.catalog), max: 3, application_name: 'strata-catalog-lookups' });
    lookups.on('error', (err) => log.warn({ err }, 'idle catalog lookup connection failed'));
    cleanup.unshift(() => lookups.end());
    const tenants = new TenantDirectory(lookups, { announced: 30_000, unannounced: config.catalogCacheMs }, events);
    const servers = new ServerDirectory(catalog);
    const router = new TenantRouter({
      registry: new PoolRegistry(config.router, (id) => servers.byId(id), log),
      connectionWaitMs: config.router.connectionWaitMs,
    });
    cleanup.unshift(() => router.close());
    tenants.onChange((tenantId) => (tenantId === '*' ? router.forgetAll() : router.forget(tenantId)));

    const owners = new OwnerPools();
    cleanup.unshift(() => owners.closeAll());
    const spares = new SparePool(owners, tenantMigrations, tenantBaseline, config.spareSchemas, log);
    cleanup.unshift(() => spares.settle());
    spares.refill(defaultServer);

    const health = new pg.Pool({ ...connectionConfig(defaultServer, 'runtime', names.tenants), max: 1 });
    health.on('error', (err) => log.warn({ err }, 'health check connection failed'));
    cleanup.unshift(() => health.end());

    return {
      config,
      log,
      adminUrl,
      catalog,
      servers,
      tenants,
      router,
      defaultServer,
      provisioning: { catalog, servers, prefix: config.database.prefix, tenantMigrations, tenantBaseline, owners, spares },
      async ping() {
        await Promise.all([catalog.$queryRaw`SELECT 1`, health.query('SELECT 1')]);
      },
      close: () => runAll(cleanup),
    };
  } catch (err) {
    await runAll(cleanup);
    throw err;
  }
}

async function runAll(steps: (() => Promise<unknown>)[]) {
  for (const step of steps.splice(0)) await step().catch(() => undefined);
}
