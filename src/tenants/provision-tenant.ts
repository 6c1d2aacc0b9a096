/**
 * Provisioning in three idempotent steps. The catalog row comes first: the unique slug makes its
 * insert the claim. Finishing a crashed one takes `resume`, else a second request could share it.
 */
import { escapeIdentifier, escapeLiteral } from 'pg';
import { z } from 'zod';
import type { CatalogClient, Tenant } from '../catalog/catalog-client.js';
import type { ServerDirectory } from '../catalog/server-directory.js';
import type { Prisma } from '../generated/catalog/client.js';
import { applyMigrations } from '../migrations/apply-migrations.js';
import type { Baseline } from '../migrations/baseline.js';
import type { MigrationFolder } from '../migrations/migration-files.js';
import type { OwnerPools } from '../servers/owner-pools.js';
import { tenantConfig } from '../settings/tenant-config.js';
import { claimSpare, type SparePool } from './spare-schemas.js';
import type { ServerRecord } from '../servers/server-access.js';
import { placeNewTenant } from '../servers/server-capacity.js';
import { placementNames, slugSchema, tiers } from './placement.js';
import { dropTenantStorage } from './tenant-storage.js';
import { AppError, problems } from '../http/problems.js';

export const provisionInput = z.object({
  slug: slugSchema,
  name: z.string().trim().min(1).max(200),
  plan: z.string().trim().min(1).max(50),
  tier: z.enum(tiers),
  server: z.string().min(1).max(100).optional(),
  config: tenantConfig.optional(),
});
export type ProvisionInput = z.input<typeof provisionInput>;

export interface ProvisioningDeps {
  catalog: CatalogClient;
  servers: ServerDirectory;
  prefix: string;
  tenantMigrations: MigrationFolder[];
  tenantBaseline?: Baseline;
  owners: OwnerPools;
  spares: SparePool;
  announce(tenantId: string): Promise<void>;
}

export interface ProvisionOptions {
  resume?: boolean;
  onActivate?: (tx: Prisma.TransactionClient, tenant: Tenant) => Promise<void>;
}

export class TenantExistsError extends AppError {
  constructor(
    readonly slug: string,
    readonly unfinished = false,
  ) {
    super(
      problems.tenantExists,
      unfinished
        ? `A tenant with slug "${slug}" is being provisioned; if that provisioning was interrupted, resume it (npm run provision -- --resume)`
        : `A tenant with slug "${slug}" already exists`,
    );
    this.name = 'TenantExistsError';
  }
}

/** Provisionings queue on the placement lock: a burst may wait past Prisma's default. */
const placementTransaction = { maxWait: 10_000, timeout: 15_000 };

export async function reserveTenant(deps: ProvisioningDeps, raw: ProvisionInput, options: ProvisionOptions = {}): Promise<Tenant> {
  const input = provisionInput.parse(raw);
  const existing = await deps.catalog.tenant.findUnique({ where: { slug: input.slug } });
  if (existing) {
    // A different tier would silently get the first request's placement.
    if (!options.resume || existing.status !== 'provisioning' || existing.tier !== input.tier) {
      throw new TenantExistsError(input.slug, existing.status === 'provisioning');
    }
    return existing;
  }
  try {
    return await deps.catalog.$transaction(async (tx) => {
      const server = await placeNewTenant(tx, input.tier, input.server);
      return tx.tenant.create({
        data: {
          slug: input.slug,
          name: input.name,
          plan: input.plan,
          tier: input.tier,
          status: 'provisioning',
          serverId: server.id,
          config: (input.config ?? {}) as Prisma.InputJsonObject,
          ...placementNames(deps.prefix, input.slug, input.tier, server.tenantsDatabase),
        },
      });
    }, placementTransaction);
  } catch (err) {
    // A concurrent provisioning won the insert.
    if ((err as { code?: string }).code === 'P2002') return reserveTenant(deps, raw, options);
    throw err;
  }
}

export async function prepareStorage(deps: ProvisioningDeps, tenant: Tenant): Promise<void> {
  const server = await deps.servers.byId(tenant.serverId);
  if (tenant.tier === 'dedicated') await ensureDatabase(deps.owners, server, tenant.databaseName);
  await deps.owners.with(server, tenant.databaseName, async (client) => {
    if (tenant.tier === 'schema' && !(await claimSpare(client, tenant.schemaName))) {
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(tenant.schemaName)}`);
      } catch (err) {
        // IF NOT EXISTS is not race-safe: a concurrent creation gives 23505.
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

/** Announced: instances may have cached it as provisioning. */
export async function activateTenant(deps: ProvisioningDeps, tenant: Tenant, onActivate?: ProvisionOptions['onActivate']): Promise<Tenant> {
  const activated = await deps.catalog.$transaction(async (tx) => {
    const [row] = await tx.tenant.updateManyAndReturn({
      where: { id: tenant.id, status: 'provisioning' },
      data: { status: 'active', version: { increment: 1 } },
    });
    if (row) await onActivate?.(tx, row);
    return row;
  });
  if (activated) {
    await deps.announce(activated.id);
    return activated;
  }
  // A retry after activation is fine; anything else left provisioning another way.
  const current = await deps.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
  if (current.status !== 'active') throw new Error(`tenant ${tenant.slug} left provisioning as ${current.status}; not activating it`);
  return current;
}

export async function provisionTenant(deps: ProvisioningDeps, input: ProvisionInput, options: ProvisionOptions = {}): Promise<Tenant> {
  const tenant = await reserveTenant(deps, input, options);
  await prepareStorage(deps, tenant);
  return activateTenant(deps, tenant, options.onActivate);
}

/** Frees the slug of a provisioning that failed before activation. */
export async function discardProvisioning(deps: ProvisioningDeps, tenant: Tenant): Promise<void> {
  const current = await deps.catalog.tenant.findUnique({ where: { id: tenant.id } });
  if (current?.status !== 'provisioning') return;
  await dropTenantStorage(deps, current);
  await deps.catalog.tenant.deleteMany({ where: { id: tenant.id, status: 'provisioning' } });
  await deps.announce(tenant.id);
}

async function ensureDatabase(owners: OwnerPools, server: ServerRecord, database: string) {
  await owners.with(server, server.tenantsDatabase, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${escapeIdentifier(database)}`);
    } catch (err) {
      // Created concurrently: 42P04, or 23505 if both passed the check.
      if (!['42P04', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
    }
  });
  await owners.with(server, database, async (client) => {
    // Concurrent GRANTs fail with "tuple concurrently updated": the lock serializes them.
    await client.query(
      `SELECT pg_advisory_xact_lock(hashtextextended(${escapeLiteral(`strata.grant.${database}`)}, 0));
       REVOKE ALL ON DATABASE ${escapeIdentifier(database)} FROM PUBLIC;
       GRANT CONNECT ON DATABASE ${escapeIdentifier(database)} TO ${escapeIdentifier(server.runtimeRole)}`,
    );
  });
}
