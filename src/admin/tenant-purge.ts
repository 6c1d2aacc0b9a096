/**
 * Purging a soft-deleted tenant: its data goes (dedicated: the database; schema: the schema;
 * pooled: its rows in every tenant table), then its catalog rows (login routes, usage and the
 * tenant itself, by cascade). The admin audit trail keeps the record of it. Each step is safe to
 * repeat, and the catalog row goes last, so a purge interrupted half way is finished by running
 * it again.
 */
import { escapeIdentifier } from 'pg';
import type { Tenant } from '../catalog/catalog-client.js';
import type { Platform } from '../platform/platform.js';
import { inTenantTransaction } from '../transfer/tenant-transaction.js';
import { tenantTables } from '../transfer/tenant-tables.js';
import { recordAdminAction } from './admin-audit.js';
import { findTenant, TenantStateError } from './tenant-lifecycle.js';

export async function purgeTenant(platform: Platform, actor: string | null, id: string, details: Record<string, unknown> = {}): Promise<Tenant> {
  const tenant = await findTenant(platform, id);
  if (tenant.status !== 'deleted') throw new TenantStateError(tenant, 'purged before it is deleted');
  await dropTenantData(platform, tenant);
  await platform.catalog.tenant.delete({ where: { id } });
  await platform.tenants.changed(id);
  await recordAdminAction(platform.catalog, {
    adminId: actor,
    action: 'tenant.purge',
    tenantId: id,
    details: { slug: tenant.slug, tier: tenant.tier, schema: tenant.schemaName, database: tenant.databaseName, ...details },
  });
  return tenant;
}

async function dropTenantData(platform: Platform, tenant: Tenant) {
  const { owners } = platform.provisioning;
  const server = await platform.servers.byId(tenant.serverId);
  switch (tenant.tier) {
    case 'dedicated':
      if (tenant.databaseName === server.tenantsDatabase) throw new Error(`refusing to drop ${tenant.databaseName}: it is the server's shared tenants database`);
      await owners.close(server, tenant.databaseName);
      // FORCE ends the connections every instance's router still holds to it.
      await owners.with(server, server.tenantsDatabase, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(tenant.databaseName)} WITH (FORCE)`),
      );
      return;
    case 'schema':
      if (tenant.schemaName === 'public') throw new Error('refusing to drop the public schema');
      await owners.with(server, tenant.databaseName, (client) => client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(tenant.schemaName)} CASCADE`));
      return;
    case 'pooled':
      // The owner is subject to FORCE ROW LEVEL SECURITY: bound to this tenant it sees (and deletes) only its rows.
      await owners.with(server, tenant.databaseName, (client) =>
        inTenantTransaction(client, tenant.id, async () => {
          const tables = await tenantTables(client, tenant.schemaName);
          for (const table of tables.reverse()) {
            await client.query(`DELETE FROM ${escapeIdentifier(tenant.schemaName)}.${escapeIdentifier(table.name)} WHERE tenant_id = $1`, [tenant.id]);
          }
        }),
      );
  }
}
