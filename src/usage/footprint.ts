/**
 * Each tenant's rows and bytes (pg_column_size: the same measure on every tier, so thresholds
 * compare), read on owner connections (fan-out.ts) so measuring is not the tenant's database time.
 */
import type { Tenant } from '../catalog/catalog-client.js';
import { fanOutGrouped, type GroupedDeps, type GroupedRead } from '../fleet/fan-out.js';
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { Log } from '../platform/log.js';
import type { TenantLoad } from './tenant-load.js';

/** The tables that grow with a tenant's business. */
const tables = ['users', 'leads', 'deals', 'activities', 'audit_events'];

export interface Footprint {
  rows: number;
  bytes: number;
}

export const tenantFootprint: GroupedRead<Footprint> = {
  select: (schema, ids) =>
    `SELECT t.id::text AS tenant_id, ${tables.map((_, i) => `s${i}.n`).join(' + ')} AS rows, ${tables.map((_, i) => `s${i}.b`).join(' + ')} AS bytes ` +
    `FROM unnest(${ids}) AS t(id) ` +
    tables
      .map(
        (table, i) =>
          `CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(pg_column_size(x.*)), 0) AS b FROM ${schema}.${table} x WHERE x.tenant_id = t.id) s${i}`,
      )
      .join(' '),
  row: (row) => ({ rows: Number(row.rows), bytes: Number(row.bytes) }),
};

export class FootprintSampler {
  #sampling: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly load: TenantLoad,
    private readonly deps: GroupedDeps & { catalog: CatalogClient },
    private readonly log: Log,
    everyMs: number,
  ) {
    this.#timer = setInterval(() => void this.sample(), everyMs);
    this.#timer.unref();
  }

  /** One sampling at a time. */
  sample(): Promise<void> {
    this.#sampling = this.#sampling.then(() => this.#measure());
    return this.#sampling;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sampling;
  }

  async #measure() {
    const ids = this.load.takeUnsampled();
    if (ids.length === 0) return;
    try {
      const tenants: Tenant[] = await this.deps.catalog.tenant.findMany({ where: { id: { in: ids }, status: 'active' } });
      const read = await fanOutGrouped(this.deps, tenants, tenantFootprint, { concurrencyPerServer: 1 });
      for (const [id, { rows, bytes }] of read.results) this.load.footprint(id, rows, bytes);
      if (read.failures.length) this.log.warn({ failures: read.failures }, 'measuring some tenants’ rows and storage failed');
    } catch (err) {
      this.log.warn({ err }, 'measuring tenants’ rows and storage failed');
    }
  }
}
