/**
 * Preparing a move's target and removing either end. Removal refuses the location the catalog
 * routes the tenant to, whatever the job believes.
 */
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import type { Tenant } from '../catalog/catalog-client.js';
import { readHistory } from '../migrations/apply-migrations.js';
import { withOwnerConnection } from '../servers/server-access.js';
import { prepareStorage } from '../tenants/provision-tenant.js';
import type { Tier } from '../tenants/placement.js';
import { tenantTables } from '../transfer/tenant-tables.js';
import { inTenantTransaction } from '../transfer/tenant-transaction.js';
import { clearUnderFence, stopCapture } from './change-capture.js';
import { clearTenantRows } from './catch-up.js';
import type { MoveDeps } from './move-jobs.js';

export interface Location {
  tier: Tier;
  serverId: string;
  schema: string;
  database: string;
}

/** A fresh owner connection to the location's database (long work: not the shared pools). */
export async function withLocation<T>(deps: Pick<MoveDeps, 'servers'>, location: Location, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withOwnerConnection(await deps.servers.byId(location.serverId), location.database, fn);
}

/** A move refuses these (Strata keys on UUIDs) rather than leave the target's counters behind. */
export async function ownedSequences(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT s.relname AS name
       FROM pg_class s
       JOIN pg_namespace n ON n.oid = s.relnamespace
       JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')
      WHERE s.relkind = 'S' AND n.nspname = $1`,
    [schema],
  );
  return rows.map((r) => r.name);
}

export async function migrationNames(client: pg.ClientBase, schema: string): Promise<string[]> {
  return (await readHistory(client, schema)).map((h) => h.name);
}

/** Provisions the target's storage; clears a fence a former move left there. */
export async function prepareTarget(deps: Pick<MoveDeps, 'servers' | 'provisioning'>, tenant: Tenant, target: Location): Promise<void> {
  await prepareStorage(deps.provisioning, {
    ...tenant,
    tier: target.tier,
    serverId: target.serverId,
    schemaName: target.schema,
    databaseName: target.database,
  });
  await withLocation(deps, target, (client) => stopCapture(client, target.schema, tenant.id));
}

const samePlace = (tenant: Tenant, location: Location) =>
  tenant.serverId === location.serverId && tenant.databaseName === location.database && tenant.schemaName === location.schema;

/** Drops its schema or database, or deletes its pooled rows (fenced after: clearUnderFence). */
export async function removeLocation(
  deps: Pick<MoveDeps, 'catalog' | 'servers' | 'router' | 'provisioning'>,
  tenantId: string,
  location: Location,
): Promise<void> {
  const current = await deps.catalog.tenant.findUniqueOrThrow({ where: { id: tenantId } });
  if (samePlace(current, location)) throw new Error(`refusing to remove ${location.database}/${location.schema}: the tenant is served from there`);
  const server = await deps.servers.byId(location.serverId);
  if (location.tier === 'pooled') {
    await withLocation(deps, location, async (client) => {
      const tables = await tenantTables(client, location.schema);
      await inTenantTransaction(client, tenantId, () =>
        clearUnderFence(client, location.schema, tenantId, () => clearTenantRows({ client, schema: location.schema, shared: true }, tables, tenantId)),
      );
    });
  } else if (location.tier === 'schema') {
    await withLocation(deps, location, async (client) => {
      await client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(location.schema)} CASCADE`);
      await stopCapture(client, location.schema, tenantId);
    });
  } else {
    await deps.provisioning.owners.close(server, location.database);
    await deps.router.closeDatabase(location.serverId, location.database);
    await withOwnerConnection(server, server.tenantsDatabase, async (client) => {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [location.database]);
      if (!exists.rowCount) return;
      // Idle router sessions elsewhere close within 30 s; until then DROP fails (55006) and is retried.
      await client.query(`REVOKE CONNECT ON DATABASE ${escapeIdentifier(location.database)} FROM PUBLIC, ${escapeIdentifier(server.runtimeRole)}`);
      await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(location.database)}`);
    });
  }
}
