/** Fleet series read from the catalog at scrape time (a few grouped queries); nothing is kept. */
import { Gauge, type Registry } from 'prom-client';
import type { CatalogClient } from '../catalog/catalog-client.js';

type Rows<T> = Promise<T[]>;

export function installFleetGauges(registry: Registry, catalog: CatalogClient) {
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => Promise<void>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        await collect(this);
      },
    });

  gauge('strata_tenants', 'Tenants in the catalog by tier and status', ['tier', 'status'], async (g) => {
    const rows: Awaited<Rows<{ tier: string; status: string; n: number }>> = await catalog.$queryRaw`
      SELECT tier::text, status::text, count(*)::int AS n FROM tenants GROUP BY 1, 2`;
    for (const { tier, status, n } of rows) g.set({ tier, status }, n);
  });

  gauge('strata_server_tenants', 'Tenants placed on each database server, by tier', ['server', 'tier'], async (g) => {
    const rows: Awaited<Rows<{ server: string; tier: string; n: number }>> = await catalog.$queryRaw`
      SELECT s.name AS server, t.tier::text, count(*)::int AS n
        FROM tenants t JOIN database_servers s ON s.id = t.server_id
       WHERE t.status <> 'deleted' GROUP BY 1, 2`;
    for (const { server, tier, n } of rows) g.set({ server, tier }, n);
  });

  gauge('strata_moves_running', 'Tier moves under way, by phase', ['phase'], async (g) => {
    const rows: Awaited<Rows<{ phase: string; n: number }>> = await catalog.$queryRaw`
      SELECT phase::text, count(*)::int AS n FROM tenant_moves WHERE status = 'running' GROUP BY 1`;
    for (const { phase, n } of rows) g.set({ phase }, n);
  });

  gauge('strata_moves', 'Tier moves recorded in the catalog, by outcome', ['status'], async (g) => {
    const rows: Awaited<Rows<{ status: string; n: number }>> = await catalog.$queryRaw`
      SELECT status::text, count(*)::int AS n FROM tenant_moves GROUP BY 1`;
    for (const { status, n } of rows) g.set({ status }, n);
  });

  gauge('strata_move_rows_copied', 'Rows copied so far by the moves under way', [], async (g) => {
    const [row]: Awaited<Rows<{ n: number | null }>> = await catalog.$queryRaw`
      SELECT sum((v ->> 'copied')::bigint)::float8 AS n
        FROM tenant_moves m, jsonb_each(m.progress) AS e(k, v)
       WHERE m.status = 'running' AND jsonb_typeof(v) = 'object' AND v ? 'copied'`;
    g.set(row?.n ?? 0);
  });

  gauge('strata_move_last_fence_seconds', 'How long writes were fenced in the last move that switched', [], async (g) => {
    const [row]: Awaited<Rows<{ seconds: number }>> = await catalog.$queryRaw`
      SELECT extract(epoch FROM flipped_at - fenced_at)::float8 AS seconds
        FROM tenant_moves WHERE flipped_at IS NOT NULL AND fenced_at IS NOT NULL
       ORDER BY flipped_at DESC LIMIT 1`;
    g.set(row?.seconds ?? 0);
  });

  gauge('strata_migration_failed_targets', 'Migration targets whose last migration failed', [], async (g) => {
    g.set(await catalog.migrationFailure.count());
  });
}
