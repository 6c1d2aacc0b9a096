/**
 * Every migration target of the fleet, discovered from the catalog: the catalog itself (its own
 * stream), each server's pooled tables, each tenant schema and each dedicated database; and, when
 * the caller can list them, each server's spare schemas (see tenants/spare-schemas.ts), so a deploy
 * leaves them current instead of the next provisioning migrating one.
 */
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { ServerRecord } from '../servers/server-access.js';
import type { Tier } from '../tenants/placement.js';

export type TargetKind = 'catalog' | Tier | 'spare';

export interface MigrationTarget {
  /** Stable, human-readable id, e.g. `schema:acme` or `pooled:default`. */
  id: string;
  kind: TargetKind;
  stream: 'catalog' | 'tenant';
  server: ServerRecord;
  database: string;
  schema: string;
  tenantSlug?: string;
}

export interface TargetFilter {
  tenant?: string[];
  tier?: TargetKind[];
  server?: string[];
}

/** Names of the spare schemas in a server's tenants database. */
export type SpareLister = (server: ServerRecord) => Promise<string[]>;

export async function discoverTargets(
  catalog: CatalogClient,
  catalogTarget: { server: ServerRecord; database: string },
  filter: TargetFilter = {},
  listSpares?: SpareLister,
): Promise<MigrationTarget[]> {
  const servers = await catalog.databaseServer.findMany({ orderBy: { name: 'asc' } });
  const byId = new Map(servers.map((s) => [s.id, s]));
  const tenants = await catalog.tenant.findMany({
    where: { status: { not: 'deleted' }, tier: { in: ['schema', 'dedicated'] } },
    select: { slug: true, tier: true, serverId: true, schemaName: true, databaseName: true },
    orderBy: [{ serverId: 'asc' }, { databaseName: 'asc' }, { schemaName: 'asc' }],
  });
  const targets: MigrationTarget[] = [
    { id: 'catalog', kind: 'catalog', stream: 'catalog', server: catalogTarget.server, database: catalogTarget.database, schema: 'public' },
    ...servers.map((server) => ({
      id: `pooled:${server.name}`,
      kind: 'pooled' as const,
      stream: 'tenant' as const,
      server,
      database: server.tenantsDatabase,
      schema: 'public',
    })),
    ...tenants.map((t) => ({
      id: `${t.tier}:${t.slug}`,
      kind: t.tier,
      stream: 'tenant' as const,
      server: byId.get(t.serverId)!,
      database: t.databaseName,
      schema: t.schemaName,
      tenantSlug: t.slug,
    })),
  ];
  for (const server of listSpares ? servers : []) {
    for (const schema of await listSpares!(server)) {
      targets.push({ id: `spare:${server.name}:${schema}`, kind: 'spare', stream: 'tenant', server, database: server.tenantsDatabase, schema });
    }
  }
  return targets.filter(
    (t) =>
      (!filter.tenant?.length || (t.tenantSlug !== undefined && filter.tenant.includes(t.tenantSlug))) &&
      (!filter.tier?.length || filter.tier.includes(t.kind)) &&
      (!filter.server?.length || filter.server.includes(t.server.name)),
  );
}
