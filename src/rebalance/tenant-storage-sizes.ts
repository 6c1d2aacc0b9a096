/**
 * Bytes each tenant stores: a dedicated tenant's database, a schema tenant's tables with indexes and
 * TOAST, a pooled tenant's rows (shared indexes not apportioned).
 */
import { escapeIdentifier } from 'pg';
import { type ServerRecord, withOwnerConnection } from '../servers/server-access.js';
import { tenantTables } from '../transfer/tenant-tables.js';
import type { Tier } from '../tenants/placement.js';

interface Located {
  id: string;
  tier: Tier;
  serverId: string;
  schemaName: string;
  databaseName: string;
}

export async function tenantStorage(servers: ServerRecord[], tenants: Located[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  await Promise.all(
    servers.map((server) =>
      withOwnerConnection(server, server.tenantsDatabase, async (client) => {
        const here = tenants.filter((t) => t.serverId === server.id);
        const dedicated = here.filter((t) => t.tier === 'dedicated');
        const schemas = here.filter((t) => t.tier === 'schema');
        if (dedicated.length) {
          const { rows } = await client.query<{ name: string; bytes: string }>(
            'SELECT datname AS name, pg_database_size(datname)::bigint AS bytes FROM pg_database WHERE datname = ANY($1)',
            [dedicated.map((t) => t.databaseName)],
          );
          const bytes = new Map(rows.map((r) => [r.name, Number(r.bytes)]));
          for (const t of dedicated) sizes.set(t.id, bytes.get(t.databaseName) ?? 0);
        }
        if (schemas.length) {
          const { rows } = await client.query<{ name: string; bytes: string }>(
            `SELECT n.nspname AS name, sum(pg_total_relation_size(c.oid))::bigint AS bytes
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind = 'r' AND n.nspname = ANY($1) GROUP BY 1`,
            [schemas.map((t) => t.schemaName)],
          );
          const bytes = new Map(rows.map((r) => [r.name, Number(r.bytes)]));
          for (const t of schemas) sizes.set(t.id, bytes.get(t.schemaName) ?? 0);
        }
        // Rows a moved tenant left behind until its old location's cleanup do not count here.
        const pooled = new Set(here.filter((t) => t.tier === 'pooled').map((t) => t.id));
        if (pooled.size) {
          for (const table of await tenantTables(client, 'public')) {
            const { rows } = await client.query<{ id: string; bytes: string }>(
              `SELECT tenant_id::text AS id, sum(pg_column_size(t.*))::bigint AS bytes FROM public.${escapeIdentifier(table.name)} t GROUP BY 1`,
            );
            for (const r of rows) if (pooled.has(r.id)) sizes.set(r.id, (sizes.get(r.id) ?? 0) + Number(r.bytes));
          }
        }
      }),
    ),
  );
  return sizes;
}
