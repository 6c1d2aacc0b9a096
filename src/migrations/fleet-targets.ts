/** Every migration target, from the catalog; spares when the caller can list them. */
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { ServerRecord } from '../servers/server-access.js';
import type { Tier } from '../tenants/placement.js';

export type TargetKind = 'catalog' | Tier | 'spare';

export interface MigrationTarget {
  /** e.g. `schema:acme`, `pooled:default`. */
  id: string;
  kind: TargetKind;
  stream: 'catalog' | 'tenant';
  server: ServerRecord;
  database: string;
  schema: string;
  tenantSlug?: string;
  /** Why discovery could not reach its server. */
  unreachable?: string;
  /** Pooled tables only: the live tenants whose rows they hold. */
  carries?: PooledTenants;
}

export interface PooledTenants {
  count: number;
  slugs: string[];
}

/** Slugs named per pooled target (plan, status). */
const sampleSize = 3;

export interface TargetFilter {
  tenant?: string[];
  tier?: TargetKind[];
  server?: string[];
}

/** A server's spare schemas, when they could not be listed. */
export const unlistedSparesId = (serverName: string) => `spare:${serverName}:*`;

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
  const livePooled = { tier: 'pooled', status: { not: 'deleted' } } as const;
  const [pooledCounts, pooledSamples] = await Promise.all([
    catalog.tenant.groupBy({ by: ['serverId'], where: livePooled, _count: { _all: true } }),
    Promise.all(
      servers.map((s) =>
        catalog.tenant.findMany({ where: { ...livePooled, serverId: s.id }, select: { slug: true }, orderBy: { slug: 'asc' }, take: sampleSize }),
      ),
    ),
  ]);
  const targets: MigrationTarget[] = [
    { id: 'catalog', kind: 'catalog', stream: 'catalog', server: catalogTarget.server, database: catalogTarget.database, schema: 'public' },
    ...servers.map((server, i) => ({
      id: `pooled:${server.name}`,
      kind: 'pooled' as const,
      stream: 'tenant' as const,
      server,
      database: server.tenantsDatabase,
      schema: 'public',
      carries: {
        count: pooledCounts.find((c) => c.serverId === server.id)?._count._all ?? 0,
        slugs: pooledSamples[i]!.map((t) => t.slug),
      },
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
  const wanted = (t: Pick<MigrationTarget, 'kind' | 'server' | 'tenantSlug'>) =>
    (!filter.tenant?.length || (t.tenantSlug !== undefined && filter.tenant.includes(t.tenantSlug))) &&
    (!filter.tier?.length || filter.tier.includes(t.kind)) &&
    (!filter.server?.length || filter.server.includes(t.server.name));
  // Only selected servers are asked: a down server elsewhere must not fail this run.
  for (const server of listSpares ? servers.filter((server) => wanted({ kind: 'spare', server })) : []) {
    const spare = { kind: 'spare', stream: 'tenant', server, database: server.tenantsDatabase } as const;
    try {
      for (const schema of await listSpares!(server)) targets.push({ ...spare, id: `spare:${server.name}:${schema}`, schema });
    } catch (err) {
      targets.push({ ...spare, id: unlistedSparesId(server.name), schema: '', unreachable: (err as Error).message });
    }
  }
  return targets.filter(wanted);
}
