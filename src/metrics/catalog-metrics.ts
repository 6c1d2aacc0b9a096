/** Catalog series, read at scrape time from the tenant directory's own counts. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TenantDirectory } from '../catalog/tenant-directory.js';

export function installCatalogMetrics(registry: Registry, tenants: TenantDirectory) {
  const registers = [registry];
  new Counter({
    name: 'strata_catalog_cache_lookups_total',
    help: 'Tenant lookups of the request path, answered from the directory cache (hit) or the catalog (miss)',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'hit' }, tenants.counts.hits);
      this.inc({ result: 'miss' }, tenants.counts.misses);
    },
  });
  new Counter({
    name: 'strata_catalog_invalidations_total',
    help: 'Tenant changes heard, dropping cached entries: one tenant, or all (after the Redis subscription was lost)',
    labelNames: ['scope'],
    registers,
    collect() {
      this.reset();
      this.inc({ scope: 'tenant' }, tenants.counts.invalidations);
      this.inc({ scope: 'all' }, tenants.counts.flushes);
    },
  });
  new Gauge({
    name: 'strata_catalog_redis_channel',
    help: 'The Redis channel of catalog changes: connected (can publish) and subscribed (hears changes), 1 or 0 (0 without Redis)',
    labelNames: ['state'],
    registers,
    collect() {
      const { connected, subscribed } = tenants.channelState();
      this.set({ state: 'connected' }, Number(connected));
      this.set({ state: 'subscribed' }, Number(subscribed));
    },
  });
}
