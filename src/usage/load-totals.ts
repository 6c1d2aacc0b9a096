/** Reads of the catalog's load windows, which every instance flushes to. */
import type { CatalogClient } from '../catalog/catalog-client.js';
import { latencyBoundsMs } from './tenant-load.js';

export interface LoadFigures {
  requests: number;
  requestMs: number;
  latency: number[];
  dbTimeMs: number;
  statements: number;
  rowsWritten: number;
  guardRejections: number;
  /** Latest measured in the span (null: not measured). */
  rowsTotal: number | null;
  storageBytes: number | null;
}

interface WindowRow {
  tenant_id: string;
  start_ms: number;
  requests: bigint;
  request_ms: number;
  latency_buckets: bigint[];
  db_time_ms: number;
  statements: bigint;
  rows_written: bigint;
  guard_rejections: bigint;
  rows_total: bigint | null;
  storage_bytes: bigint | null;
}

export const emptyFigures = (): LoadFigures => ({
  requests: 0,
  requestMs: 0,
  latency: new Array<number>(latencyBoundsMs.length + 1).fill(0),
  dbTimeMs: 0,
  statements: 0,
  rowsWritten: 0,
  guardRejections: 0,
  rowsTotal: null,
  storageBytes: null,
});

/** Rows come oldest first, so the footprint ends as the latest measured. */
function add(into: LoadFigures, row: Omit<WindowRow, 'start_ms'>) {
  into.requests += Number(row.requests);
  into.requestMs += row.request_ms;
  row.latency_buckets.forEach((n, i) => (into.latency[i] = (into.latency[i] ?? 0) + Number(n)));
  into.dbTimeMs += row.db_time_ms;
  into.statements += Number(row.statements);
  into.rowsWritten += Number(row.rows_written);
  into.guardRejections += Number(row.guard_rejections);
  if (row.rows_total !== null) into.rowsTotal = Number(row.rows_total);
  if (row.storage_bytes !== null) into.storageBytes = Number(row.storage_bytes);
}

/** The upper bound of the bucket holding the `q` quantile (the last bound: at least that). */
export function latencyQuantileMs(latency: number[], q: number): number | null {
  const total = latency.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const [i, n] of latency.entries()) {
    seen += n;
    if (seen >= Math.ceil(q * total)) return latencyBoundsMs[Math.min(i, latencyBoundsMs.length - 1)]!;
  }
  return latencyBoundsMs[latencyBoundsMs.length - 1]!;
}

async function windows(catalog: CatalogClient, fromMs: number, tenantId?: string): Promise<WindowRow[]> {
  return catalog.$queryRaw<WindowRow[]>`
    SELECT tenant_id::text AS tenant_id, (extract(epoch FROM window_start) * 1000)::float8 AS start_ms, requests, request_ms, latency_buckets,
           db_time_ms, statements, rows_written, guard_rejections, rows_total, storage_bytes
      FROM tenant_load
     WHERE window_start >= to_timestamp(${fromMs / 1000}::float8) AND (${tenantId ?? null}::uuid IS NULL OR tenant_id = ${tenantId ?? null}::uuid)
     ORDER BY window_start`;
}

/** The whole fleet's without `tenantId`; every step present. */
export async function loadSeries(catalog: CatalogClient, tenantId: string | undefined, fromMs: number, toMs: number, stepMs: number) {
  const steps = Array.from({ length: Math.ceil((toMs - fromMs) / stepMs) }, (_, i) => ({ startMs: fromMs + i * stepMs, figures: emptyFigures() }));
  for (const row of await windows(catalog, fromMs, tenantId)) {
    const step = steps[Math.floor((row.start_ms - fromMs) / stepMs)];
    if (step) add(step.figures, row);
  }
  return steps;
}

/** Summed in the catalog: reading every window took ~1 s for 1,000 tenants over an hour. */
export async function loadTotals(catalog: CatalogClient, fromMs: number): Promise<Map<string, LoadFigures>> {
  const from = fromMs / 1000;
  const rows = await catalog.$queryRaw<Omit<WindowRow, 'start_ms'>[]>`
    SELECT s.*, coalesce(b.latency_buckets, '{}') AS latency_buckets
      FROM (SELECT tenant_id::text AS tenant_id, sum(requests)::bigint AS requests, sum(request_ms)::float8 AS request_ms,
                   sum(db_time_ms)::float8 AS db_time_ms, sum(statements)::bigint AS statements, sum(rows_written)::bigint AS rows_written,
                   sum(guard_rejections)::bigint AS guard_rejections,
                   (array_agg(rows_total ORDER BY window_start DESC) FILTER (WHERE rows_total IS NOT NULL))[1] AS rows_total,
                   (array_agg(storage_bytes ORDER BY window_start DESC) FILTER (WHERE storage_bytes IS NOT NULL))[1] AS storage_bytes
              FROM tenant_load
             WHERE window_start >= to_timestamp(${from}::float8)
             GROUP BY tenant_id) s
      CROSS JOIN LATERAL (
            SELECT array_agg(n ORDER BY i) AS latency_buckets
              FROM (SELECT u.i, sum(u.n)::bigint AS n
                      FROM tenant_load l, unnest(l.latency_buckets) WITH ORDINALITY AS u(n, i)
                     WHERE l.tenant_id = s.tenant_id::uuid AND l.window_start >= to_timestamp(${from}::float8)
                     GROUP BY u.i) per_bucket) b`;
  return new Map(
    rows.map((row) => {
      const figures = emptyFigures();
      add(figures, row);
      return [row.tenant_id, figures];
    }),
  );
}

/** As last measured within retention, however long ago the tenant was served. */
export async function latestFootprints(catalog: CatalogClient): Promise<Map<string, { rows: number; bytes: number }>> {
  // Per tenant, its newest windows first along the primary key: it stops at the first measured one.
  const rows = await catalog.$queryRaw<{ tenant_id: string; rows_total: bigint; storage_bytes: bigint }[]>`
    SELECT t.id::text AS tenant_id, f.rows_total, f.storage_bytes
      FROM tenants t
     CROSS JOIN LATERAL (SELECT rows_total, storage_bytes FROM tenant_load l
                          WHERE l.tenant_id = t.id AND rows_total IS NOT NULL AND storage_bytes IS NOT NULL
                          ORDER BY window_start DESC LIMIT 1) f`;
  return new Map(rows.map((r) => [r.tenant_id, { rows: Number(r.rows_total), bytes: Number(r.storage_bytes) }]));
}
