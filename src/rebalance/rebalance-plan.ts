/**
 * Rebalancing plans: moves evening out a measure across active servers in proportion to their
 * weights. Greedy (docs/servers.md#draining-and-rebalancing-servers); ties go by name and slug.
 */
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { Config } from '../config/config.js';
import type { PlannedMove } from '../moves/move-batch.js';
import { effectiveState, refusal, type ServerLoad, serverLoads } from '../servers/server-capacity.js';
import type { Tier } from '../tenants/placement.js';
import { loadTotals } from '../usage/load-totals.js';
import { tenantStorage } from './tenant-storage-sizes.js';

export const measures = ['tenants', 'storage', 'dbTime'] as const;
export type Measure = (typeof measures)[number];

export class MeasureUnavailableError extends Error {
  constructor(measure: Measure, why: string) {
    super(`${measure}: ${why}`);
    this.name = 'MeasureUnavailableError';
  }
}

export interface Sized {
  tenantId: string;
  slug: string;
  tier: Tier;
  serverId: string;
  /** Only active tenants are moved; the others still count towards their server's load. */
  movable: boolean;
  size: number;
}

export interface ServerShare {
  server: string;
  weight: number;
  value: number;
  /** Its share of the total, by weight. */
  target: number;
}

export interface RebalancePlan {
  by: Measure;
  tolerance: number;
  moves: (PlannedMove & { size: number })[];
  before: ServerShare[];
  after: ServerShare[];
  /** Largest |value / target − 1| over the servers, before and after the plan. */
  spreadBefore: number;
  spreadAfter: number;
  stopped: 'balanced' | 'no-helpful-move' | 'max-moves' | 'too-few-servers';
}

export interface PlanOptions {
  by: Measure;
  maxMoves: number;
  /** A server within this fraction of its share is balanced. */
  tolerance: number;
  /** dbTime: the span of recent load windows summed (at most the usage retention). */
  windowMs: number;
}

/** `config.usage` bounds the dbTime window. */
export interface RebalancePlanDeps {
  catalog: CatalogClient;
  config: Pick<Config, 'usage'>;
}

export const defaultWindowMs = 3_600_000;

/** Sized in the measure's unit (dbTime: ms over the window). */
export async function measureTenants(deps: RebalancePlanDeps, options: Pick<PlanOptions, 'by' | 'windowMs'>, active: ServerLoad[]): Promise<Sized[]> {
  const { by, windowMs } = options;
  const tenants = await deps.catalog.tenant.findMany({
    where: { serverId: { in: active.map((l) => l.server.id) }, status: { not: 'deleted' } },
    select: { id: true, slug: true, tier: true, serverId: true, status: true, schemaName: true, databaseName: true },
    orderBy: { slug: 'asc' },
  });
  const sizes =
    by === 'storage'
      ? await tenantStorage(
          active.map((l) => l.server),
          tenants,
        )
      : by === 'dbTime'
        ? await databaseTime(deps, windowMs)
        : undefined;
  return tenants.map((t) => ({
    tenantId: t.id,
    slug: t.slug,
    tier: t.tier,
    serverId: t.serverId,
    movable: t.status === 'active',
    size: sizes ? (sizes.get(t.id) ?? 0) : 1,
  }));
}

/** From every instance's load windows of the last `windowMs`. */
async function databaseTime(deps: RebalancePlanDeps, windowMs: number): Promise<Map<string, number>> {
  const { retentionMs } = deps.config.usage;
  if (windowMs > retentionMs) throw new MeasureUnavailableError('dbTime', `the window is at most the usage retention, ${retentionMs / 3_600_000}h`);
  const totals = await loadTotals(deps.catalog, Date.now() - windowMs);
  const times = new Map([...totals].map(([id, figures]) => [id, figures.dbTimeMs]));
  // All zeros would read as balanced.
  if (![...times.values()].some((ms) => ms > 0)) throw new MeasureUnavailableError('dbTime', `no tenant used database time in the last ${windowMs / 1000} s`);
  return times;
}

export async function planRebalance(deps: RebalancePlanDeps, options: PlanOptions): Promise<RebalancePlan> {
  const active = (await serverLoads(deps.catalog)).filter((l) => effectiveState(l.server) === 'active');
  const tenants = await measureTenants(deps, options, active);
  return planMoves(active, tenants, options);
}

/** The greedy planner (pure). */
export function planMoves(active: ServerLoad[], tenants: Sized[], options: PlanOptions): RebalancePlan {
  const loads = active.map((l) => ({ ...l, tenants: { ...l.tenants } })).sort((a, b) => a.server.name.localeCompare(b.server.name));
  const value = new Map(loads.map((l) => [l.server.id, 0]));
  for (const t of tenants) value.set(t.serverId, (value.get(t.serverId) ?? 0) + t.size);
  const total = [...value.values()].reduce((a, b) => a + b, 0);
  const weights = loads.reduce((a, l) => a + l.server.weight, 0);
  const target = (l: ServerLoad) => (total * l.server.weight) / weights;
  const excess = (l: ServerLoad) => value.get(l.server.id)! - target(l);
  const shares = () => loads.map((l) => ({ server: l.server.name, weight: l.server.weight, value: value.get(l.server.id)!, target: target(l) }));
  const spread = () => Math.max(0, ...loads.map((l) => (target(l) ? Math.abs(value.get(l.server.id)! / target(l) - 1) : 0)));
  const plan = { by: options.by, tolerance: options.tolerance, moves: [] as RebalancePlan['moves'], before: shares(), spreadBefore: spread() };
  const finish = (stopped: RebalancePlan['stopped']): RebalancePlan => ({ ...plan, after: shares(), spreadAfter: spread(), stopped });
  if (loads.length < 2) return finish('too-few-servers');

  const moved = new Set<string>();
  const byId = new Map(loads.map((l) => [l.server.id, l]));
  for (;;) {
    const ranked = [...loads].sort((a, b) => excess(b) - excess(a));
    const source = ranked[0]!;
    if (ranked.every((l) => Math.abs(excess(l)) <= options.tolerance * target(l))) return finish('balanced');
    if (plan.moves.length >= options.maxMoves) return finish('max-moves');
    let best: { tenant: Sized; to: (typeof loads)[number]; gain: number } | undefined;
    for (const tenant of tenants) {
      if (tenant.serverId !== source.server.id || !tenant.movable || moved.has(tenant.tenantId) || tenant.size <= 0) continue;
      // The most underloaded server that takes this tier.
      const to = [...ranked].reverse().find((l) => l !== source && refusal(l, tenant.tier) === null);
      if (!to) continue;
      // Decrease of the sum of squared deviations: positive iff size < excess(source) − excess(to).
      const gain = 2 * tenant.size * (excess(source) - excess(to)) - 2 * tenant.size ** 2;
      if (gain > 1e-9 && (!best || gain > best.gain)) best = { tenant, to, gain };
    }
    if (!best) return finish('no-helpful-move');
    const { tenant, to } = best;
    moved.add(tenant.tenantId);
    value.set(source.server.id, value.get(source.server.id)! - tenant.size);
    value.set(to.server.id, value.get(to.server.id)! + tenant.size);
    byId.get(source.server.id)!.tenants[tenant.tier]--;
    to.tenants[tenant.tier]++;
    tenant.serverId = to.server.id;
    plan.moves.push({ tenantId: tenant.tenantId, slug: tenant.slug, tier: tenant.tier, from: source.server.name, to: to.server.name, size: tenant.size });
  }
}
