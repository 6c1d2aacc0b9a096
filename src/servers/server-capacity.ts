/**
 * Where a new tenant goes: load is a tier's tenants per unit of weight; caps and states are hard
 * limits. Placement holds a catalog lock, so concurrent provisionings never overshoot a cap.
 */
import type { DatabaseServer } from '../catalog/catalog-client.js';
import { UnknownServerError } from '../catalog/server-directory.js';
import type { Prisma } from '../generated/catalog/client.js';
import { AppError, problems } from '../http/problems.js';
import type { Tier } from '../tenants/placement.js';

export type TierCounts = Record<Tier, number>;
export type EffectiveState = DatabaseServer['state'] | 'down';

export interface ServerLoad {
  server: DatabaseServer;
  /** Live (not deleted) tenants, per tier. */
  tenants: TierCounts;
}

type Catalog = Pick<Prisma.TransactionClient, 'databaseServer' | 'tenant'>;

export const effectiveState = (server: Pick<DatabaseServer, 'state' | 'downSince'>): EffectiveState => (server.downSince ? 'down' : server.state);

export function tierCap(server: DatabaseServer, tier: Tier): number | null {
  return { pooled: server.maxPooledTenants, schema: server.maxSchemaTenants, dedicated: server.maxDedicatedTenants }[tier];
}

/** Tenants of the tier it may still take; null: no cap. */
export function headroom({ server, tenants }: ServerLoad, tier: Tier): number | null {
  const cap = tierCap(server, tier);
  return cap === null ? null : Math.max(0, cap - tenants[tier]);
}

/** A sentence; null when the server takes a new tenant of the tier. */
export function refusal(load: ServerLoad, tier: Tier): string | null {
  const { server } = load;
  const state = effectiveState(server);
  if (state !== 'active') return `${server.name} is ${state}`;
  if (headroom(load, tier) === 0) return `${server.name} holds ${load.tenants[tier]} ${tier} tenants, its cap`;
  if (server.maxStorageBytes !== null && server.storageBytes !== null && server.storageBytes >= server.maxStorageBytes) {
    return `${server.name} stores ${server.storageBytes} bytes, its cap is ${server.maxStorageBytes}`;
  }
  return null;
}

export const weightedLoad = (load: ServerLoad, tier: Tier) => load.tenants[tier] / load.server.weight;
const totalLoad = (load: ServerLoad) => (load.tenants.pooled + load.tenants.schema + load.tenants.dedicated) / load.server.weight;

/** Lowest weighted load of the tier, then of all tiers, then the name. */
export function choosePlacement(loads: ServerLoad[], tier: Tier): ServerLoad | undefined {
  return loads
    .filter((load) => refusal(load, tier) === null)
    .sort((a, b) => weightedLoad(a, tier) - weightedLoad(b, tier) || totalLoad(a) - totalLoad(b) || a.server.name.localeCompare(b.server.name))[0];
}

export async function serverLoads(catalog: Catalog): Promise<ServerLoad[]> {
  const [servers, counts] = await Promise.all([
    catalog.databaseServer.findMany({ orderBy: { createdAt: 'asc' } }),
    catalog.tenant.groupBy({ by: ['serverId', 'tier'], where: { status: { not: 'deleted' } }, _count: { _all: true } }),
  ]);
  return servers.map((server) => {
    const tenants: TierCounts = { pooled: 0, schema: 0, dedicated: 0 };
    for (const c of counts) if (c.serverId === server.id) tenants[c.tier] = c._count._all;
    return { server, tenants };
  });
}

/** A named server skips the ranking, not states or caps. Holds the placement lock until `tx` ends. */
export async function placeNewTenant(tx: Prisma.TransactionClient, tier: Tier, name?: string): Promise<DatabaseServer> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended('strata.placement', 0))`;
  const loads = await serverLoads(tx);
  if (name) {
    const named = loads.find((l) => l.server.name === name);
    if (!named) throw new UnknownServerError(`named ${name}`);
    const why = refusal(named, tier);
    if (why === null) return named.server;
    const problem = effectiveState(named.server) === 'active' ? problems.serverFull : problems.serverCordoned;
    throw new AppError(problem, `Server ${why}: it takes no new ${tier} tenants (see npm run server -- list)`);
  }
  const chosen = choosePlacement(loads, tier);
  if (!chosen) {
    const reasons = loads.map((l) => refusal(l, tier)).join('; ');
    throw new AppError(problems.noServerAvailable, `No database server takes a new ${tier} tenant: ${reasons || 'none is registered'}`);
  }
  return chosen.server;
}
