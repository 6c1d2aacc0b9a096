/** Recommendations from the catalog's live tenants, servers and load (src/usage/). */
import type { CatalogClient } from '../catalog/catalog-client.js';
import { serverLoads } from '../servers/server-capacity.js';
import { tenantSettings } from '../settings/tenant-config.js';
import { latestFootprints, loadTotals } from '../usage/load-totals.js';
import { type AdviceThresholds, recommend, type Recommendation } from './tier-advice.js';

export interface AdviceDeps {
  catalog: CatalogClient;
  thresholds: AdviceThresholds;
  /** STRATA_RATE_LIMIT_PLANS. */
  planOverrides: Readonly<Record<string, number>>;
}

export async function currentRecommendations(deps: AdviceDeps, windowMs: number, nowMs = Date.now()): Promise<Recommendation[]> {
  const { catalog } = deps;
  const [tenants, servers, figures, footprints, switched] = await Promise.all([
    catalog.tenant.findMany({ where: { status: { not: 'deleted' } } }),
    serverLoads(catalog),
    loadTotals(catalog, nowMs - windowMs),
    latestFootprints(catalog),
    catalog.tenantMove.groupBy({ by: ['tenantId'], where: { flippedAt: { not: null } }, _max: { flippedAt: true } }),
  ]);
  const movedAt = new Map(switched.map((m) => [m.tenantId, m._max.flippedAt?.getTime() ?? null]));
  return recommend(
    {
      nowMs,
      windowMs,
      tenants: tenants.map((t) => ({
        id: t.id,
        slug: t.slug,
        tier: t.tier,
        serverId: t.serverId,
        plan: t.plan,
        requestsPerMinute: tenantSettings(t, deps.planOverrides).limits.requestsPerMinute,
        movable: t.status === 'active',
        createdAtMs: t.createdAt.getTime(),
        movedAtMs: movedAt.get(t.id) ?? null,
      })),
      servers,
      figures,
      footprints,
    },
    deps.thresholds,
  );
}
