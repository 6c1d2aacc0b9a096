/**
 * Purging a soft-deleted tenant: an export archive is written first (STRATA_PURGE_EXPORT_DIR),
 * then its data goes (dedicated: the database; schema: the schema; pooled: its rows in every
 * tenant table), then its catalog rows (login routes, usage and the tenant itself, by cascade).
 * The admin audit trail keeps the record of it, with the archive's path. Each step is safe to
 * repeat, and the catalog row goes last, so a purge interrupted half way is finished by running
 * it again.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { escapeIdentifier } from 'pg';
import type { Tenant } from '../catalog/catalog-client.js';
import type { Platform } from '../platform/platform.js';
import { exportTenant, totalRows } from '../transfer/export-tenant.js';
import { inTenantTransaction } from '../transfer/tenant-transaction.js';
import { tenantTables } from '../transfer/tenant-tables.js';
import { recordAdminAction } from './admin-audit.js';
import { findTenant, TenantStateError } from './tenant-lifecycle.js';

export async function purgeTenant(platform: Platform, actor: string | null, id: string): Promise<{ tenant: Tenant; archive: string; rows: number }> {
  const tenant = await findTenant(platform, id);
  if (tenant.status !== 'deleted') throw new TenantStateError(tenant, 'purged before it is deleted');
  const { archive, rows } = await exportBeforePurge(platform, tenant);
  await dropTenantData(platform, tenant);
  await platform.catalog.tenant.delete({ where: { id } });
  await platform.tenants.changed(id);
  await recordAdminAction(platform.catalog, {
    adminId: actor,
    action: 'tenant.purge',
    tenantId: id,
    details: { slug: tenant.slug, tier: tenant.tier, schema: tenant.schemaName, database: tenant.databaseName, archive, rows },
  });
  return { tenant, archive, rows };
}

/** The archive is complete on disk (flushed and closed) before any data is dropped; a failed export stops the purge. */
async function exportBeforePurge(platform: Platform, tenant: Tenant) {
  const dir = resolve(platform.config.purgeExportDir);
  await mkdir(dir, { recursive: true });
  const archive = join(dir, `${tenant.slug}-${tenant.id}-${new Date().toISOString().replace(/[:.]/g, '-')}.strata`);
  const out = createWriteStream(archive, { flags: 'wx' });
  try {
    const manifest = await exportTenant(platform, tenant, out);
    out.end();
    await finished(out);
    return { archive, rows: totalRows(manifest) };
  } catch (err) {
    out.destroy();
    await rm(archive, { force: true });
    throw err;
  }
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
