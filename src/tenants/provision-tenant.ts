/**
 * Provisioning: a tenant goes from nothing to active in three idempotent steps, each safe to
 * repeat after a crash at any point. The catalog row is written first (status `provisioning`,
 * with its placement fixed), so a retry finds it and completes the same placement.
 */
import { escapeIdentifier, escapeLiteral } from 'pg';
import { z } from 'zod';
import type { CatalogClient, Tenant } from '../catalog/catalog-client.js';
import type { ServerDirectory } from '../catalog/server-directory.js';
import { applyMigrations } from '../migrations/apply-migrations.js';
import type { Baseline } from '../migrations/baseline.js';
import type { MigrationFolder } from '../migrations/migration-files.js';
import type { OwnerPools } from '../servers/owner-pools.js';
import { claimSpare, type SparePool } from './spare-schemas.js';
import type { ServerRecord } from '../servers/server-access.js';
import { placementNames, slugSchema, tiers } from './placement.js';

export const provisionInput = z.object({
  slug: slugSchema,
  name: z.string().trim().min(1).max(200),
  plan: z.string().trim().min(1).max(50),
  tier: z.enum(tiers),
  /** Catalog name of the database server; default: the oldest one accepting tenants. */
  server: z.string().min(1).optional(),
});
export type ProvisionInput = z.input<typeof provisionInput>;

export interface ProvisioningDeps {
  catalog: CatalogClient;
  servers: ServerDirectory;
  /** Database name prefix (config STRATA_DB_PREFIX). */
  prefix: string;
  tenantMigrations: MigrationFolder[];
  tenantBaseline?: Baseline;
  owners: OwnerPools;
  spares: SparePool;
}

export class TenantExistsError extends Error {
  constructor(readonly slug: string) {
    super(`A tenant with slug "${slug}" already exists`);
    this.name = 'TenantExistsError';
  }
}

/** Step 1: the catalog row, created once; a retry with the same slug resumes it. */
export async function reserveTenant(deps: ProvisioningDeps, raw: ProvisionInput): Promise<Tenant> {
  const input = provisionInput.parse(raw);
  const existing = await deps.catalog.tenant.findUnique({ where: { slug: input.slug } });
  if (existing) {
    // Resuming is for the same request; a different tier would silently get the first one's placement.
    if (existing.status !== 'provisioning' || existing.tier !== input.tier) throw new TenantExistsError(input.slug);
    return existing;
  }
  const server = input.server ? await deps.servers.byName(input.server) : await deps.servers.forNewTenant();
  try {
    return await deps.catalog.tenant.create({
      data: {
        slug: input.slug,
        name: input.name,
        plan: input.plan,
        tier: input.tier,
        status: 'provisioning',
        serverId: server.id,
        ...placementNames(deps.prefix, input.slug, input.tier, server.tenantsDatabase),
      },
    });
  } catch (err) {
    // A concurrent provisioning of the same slug won the insert: continue with its row.
    if ((err as { code?: string }).code === 'P2002') return reserveTenant(deps, raw);
    throw err;
  }
}

/** Step 2: the tenant's schema or database exists and is at the current migration version. */
export async function prepareStorage(deps: ProvisioningDeps, tenant: Tenant): Promise<void> {
  const server = await deps.servers.byId(tenant.serverId);
  if (tenant.tier === 'dedicated') await ensureDatabase(deps.owners, server, tenant.databaseName);
  await deps.owners.with(server, tenant.databaseName, async (client) => {
    if (tenant.tier === 'schema' && !(await claimSpare(client, tenant.schemaName))) {
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(tenant.schemaName)}`);
      } catch (err) {
        // IF NOT EXISTS is not race-safe: a concurrent provisioning that created it first gives 23505.
        if ((err as { code?: string }).code !== '23505') throw err;
      }
    }
    await applyMigrations(client, {
      schema: tenant.schemaName,
      migrations: deps.tenantMigrations,
      baseline: deps.tenantBaseline,
      runtimeRole: server.runtimeRole,
    });
  });
  if (tenant.tier === 'schema') deps.spares.refill(server);
}

/** Step 3: the tenant becomes routable. */
export async function activateTenant(deps: ProvisioningDeps, tenant: Tenant): Promise<Tenant> {
  const [activated] = await deps.catalog.tenant.updateManyAndReturn({
    where: { id: tenant.id, status: 'provisioning' },
    data: { status: 'active', version: { increment: 1 } },
  });
  if (activated) return activated;
  // A retry after activation already happened is fine; anything else left provisioning some other way.
  const current = await deps.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
  if (current.status !== 'active') throw new Error(`tenant ${tenant.slug} left provisioning as ${current.status}; not activating it`);
  return current;
}

export async function provisionTenant(deps: ProvisioningDeps, input: ProvisionInput): Promise<Tenant> {
  const tenant = await reserveTenant(deps, input);
  await prepareStorage(deps, tenant);
  return activateTenant(deps, tenant);
}

/** Dedicated databases are created by the owner role (CREATEDB), then closed to all but the runtime role. */
async function ensureDatabase(owners: OwnerPools, server: ServerRecord, database: string) {
  await owners.with(server, server.tenantsDatabase, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${escapeIdentifier(database)}`);
    } catch (err) {
      // A concurrent provisioning created it first: 42P04, or 23505 when both passed the check above.
      if (!['42P04', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
    }
  });
  await owners.with(server, database, async (client) => {
    // Concurrent GRANTs on one database fail with "tuple concurrently updated": the lock, held to the
    // end of this implicit transaction, serializes them.
    await client.query(
      `SELECT pg_advisory_xact_lock(hashtextextended(${escapeLiteral(`strata.grant.${database}`)}, 0));
       REVOKE ALL ON DATABASE ${escapeIdentifier(database)} FROM PUBLIC;
       GRANT CONNECT ON DATABASE ${escapeIdentifier(database)} TO ${escapeIdentifier(server.runtimeRole)}`,
    );
  });
}
