/**
 * A tenant's usage for the admin API. Rows are counted through the router, under the tenant's RLS
 * context: a pooled tenant's counts are its rows only.
 */
import { escapeIdentifier, escapeLiteral } from 'pg';
import type { CatalogClient, Tenant } from '../catalog/catalog-client.js';
import type { TenantRouter } from '../router/tenant-router.js';

const days = 30;

export interface TenantUsage {
  requests: { today: number; last30Days: number };
  rows: Record<string, number>;
  /** Null for pooled tenants, whose rows share tables. */
  storageBytes: number | null;
}

export interface TenantUsageDeps {
  catalog: CatalogClient;
  router: Pick<TenantRouter, 'clientFor'>;
}

export async function tenantUsage(deps: TenantUsageDeps, tenant: Tenant): Promise<TenantUsage> {
  const [requests, tier] = await Promise.all([requestTotals(deps.catalog, tenant.id), tierUsage(deps.router, tenant)]);
  return { requests, ...tier };
}

async function requestTotals(catalog: CatalogClient, tenantId: string) {
  const [totals] = await catalog.$queryRaw<{ today: bigint | null; recent: bigint | null }[]>`
    SELECT sum(requests) FILTER (WHERE day = (now() AT TIME ZONE 'UTC')::date) AS today,
           sum(requests) AS recent
      FROM tenant_usage
     WHERE tenant_id = ${tenantId}::uuid AND day > (now() AT TIME ZONE 'UTC')::date - ${days}::int`;
  return { today: Number(totals?.today ?? 0), last30Days: Number(totals?.recent ?? 0) };
}

async function tierUsage(router: Pick<TenantRouter, 'clientFor'>, tenant: Tenant) {
  const db = router.clientFor(tenant);
  return db.$transaction(async (tx) => {
    // Unqualified: the transaction's search path is the tenant's schema (see user-store.ts).
    const tables = await tx.$queryRaw<{ name: string; bytes: bigint }[]>`
      SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes
        FROM pg_class c
       WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE '\\_strata\\_%'
       ORDER BY c.relname`;
    if (tables.length === 0) return { rows: {}, storageBytes: tenant.tier === 'pooled' ? null : 0 };
    const counts = await tx.$queryRawUnsafe<{ name: string; n: bigint }[]>(
      tables.map((t) => `SELECT ${escapeLiteral(t.name)} AS name, count(*) AS n FROM ${escapeIdentifier(t.name)}`).join(' UNION ALL '),
    );
    return {
      rows: Object.fromEntries(counts.map((c) => [c.name, Number(c.n)])),
      storageBytes: tenant.tier === 'pooled' ? null : tables.reduce((sum, t) => sum + Number(t.bytes), 0),
    };
  });
}
