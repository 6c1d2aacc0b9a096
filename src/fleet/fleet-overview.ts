/**
 * The fleet at a glance for the operator console (GET /admin/fleet): a few grouped catalog queries
 * and one short query per server; nothing labelled by tenant but the top list.
 */
import type { CatalogClient } from '../catalog/catalog-client.js';
import { listServers } from '../servers/server-registry.js';
import type { OwnerPools } from '../servers/owner-pools.js';
import type { Tier } from '../tenants/placement.js';
import { effectiveState } from '../servers/server-capacity.js';

const topCount = 10;
const chartDays = 14;
/** A server silent this long is shown as down; the overview does not wait for it. */
const serverProbeMs = 2_000;

export interface OverviewDeps {
  catalog: CatalogClient;
  owners: OwnerPools;
}

export async function fleetOverview({ catalog, owners }: OverviewDeps) {
  const [tenants, servers, requestsPerDay, topTenants, movesRunning, failedMigrations] = await Promise.all([
    catalog.$queryRaw<{ tier: Tier; status: string; count: number }[]>`
      SELECT tier::text, status::text, count(*)::int AS count FROM tenants GROUP BY 1, 2 ORDER BY 1, 2`,
    listServers(catalog),
    catalog.$queryRaw<{ day: string; requests: number }[]>`
      SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(requests)::float8 AS requests FROM tenant_usage
       WHERE day > (now() AT TIME ZONE 'UTC')::date - ${chartDays}::int GROUP BY day ORDER BY day`,
    catalog.$queryRaw<{ id: string; slug: string; tier: Tier; plan: string; status: string; today: number; last30Days: number }[]>`
      SELECT t.id::text, t.slug, t.tier::text, t.plan, t.status::text,
             coalesce(sum(u.requests) FILTER (WHERE u.day = (now() AT TIME ZONE 'UTC')::date), 0)::float8 AS today,
             sum(u.requests)::float8 AS "last30Days"
        FROM tenant_usage u JOIN tenants t ON t.id = u.tenant_id
       WHERE u.day > (now() AT TIME ZONE 'UTC')::date - 30 AND t.status <> 'deleted'
       GROUP BY t.id ORDER BY "last30Days" DESC, t.slug LIMIT ${topCount}`,
    catalog.tenantMove.count({ where: { status: 'running' } }),
    catalog.migrationFailure.count(),
  ]);
  const probed = await Promise.all(
    servers.map(async (server) => {
      const probe = await probeServer(owners, server);
      return {
        name: server.name,
        host: server.host,
        port: server.port,
        acceptsNewTenants: effectiveState(server) === 'active',
        maxConnections: server.maxConnections,
        tenants: server.tenants,
        ...probe,
      };
    }),
  );
  return { tenants, servers: probed, requestsPerDay, topTenants, movesRunning, failedMigrations };
}

/** Connections open on the server (all databases), or why it did not answer. */
async function probeServer(owners: OwnerPools, server: Parameters<OwnerPools['with']>[0]) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${serverProbeMs} ms`)), serverProbeMs);
  });
  try {
    const connections = await Promise.race([
      owners.with(
        server,
        server.tenantsDatabase,
        async (client) => (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity')).rows[0]!.n,
      ),
      timeout,
    ]);
    return { reachable: true, connections, error: null };
  } catch (err) {
    return { reachable: false, connections: null, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
