/** Drops a tenant's storage, any tier; safe to repeat. */
import { escapeIdentifier } from 'pg';
import type { Tenant } from '../catalog/catalog-client.js';
import type { ServerDirectory } from '../catalog/server-directory.js';
import type { OwnerPools } from '../servers/owner-pools.js';
import { inTenantTransaction } from '../transfer/tenant-transaction.js';
import { tenantTables } from '../transfer/tenant-tables.js';

export async function dropTenantStorage(deps: { owners: OwnerPools; servers: ServerDirectory }, tenant: Tenant): Promise<void> {
  const { owners } = deps;
  const server = await deps.servers.byId(tenant.serverId);
  switch (tenant.tier) {
    case 'dedicated':
      if (tenant.databaseName === server.tenantsDatabase)
        throw new Error(`refusing to drop ${tenant.databaseName}: it is the server's shared tenants database`);
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
      // The owner bypasses row security: each DELETE names the tenant.
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
