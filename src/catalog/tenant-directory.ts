/**
 * Catalog lookups of tenants for the request path, cached in memory. With Redis, entries are
 * dropped as soon as any instance announces a change and may live long; without it, or while the
 * subscription is down (announcements may be missed), they expire after the short TTL, which
 * bounds how long a suspended tenant can still be served.
 */
import type { CatalogClient, Tenant } from './catalog-client.js';
import type { CatalogEvents } from './catalog-events.js';

export class TenantDirectory {
  readonly #cache = new Map<string, { tenant: Tenant | null; fetched: number }>();
  readonly #listeners = new Set<(tenantId: string | '*') => void>();

  constructor(
    private readonly catalog: CatalogClient,
    private readonly ttl: { announced: number; unannounced: number },
    private readonly events?: CatalogEvents,
  ) {
    events?.onTenantChanged((tenantId) => this.#drop(tenantId));
  }

  async byId(id: string): Promise<Tenant | null> {
    const hit = this.#cache.get(id);
    const ttl = this.events?.listening ? this.ttl.announced : this.ttl.unannounced;
    if (hit && Date.now() - hit.fetched < ttl) return hit.tenant;
    const tenant = await this.catalog.tenant.findUnique({ where: { id } });
    this.#cache.set(id, { tenant, fetched: Date.now() });
    return tenant;
  }

  /** Called after this process changed a tenant in the catalog; tells the other instances too. */
  async changed(tenantId: string): Promise<void> {
    this.#drop(tenantId);
    await this.events?.publishTenantChanged(tenantId);
  }

  /** Also notified of changes (e.g. so the router forgets the tenant's handle). */
  onChange(listener: (tenantId: string | '*') => void): void {
    this.#listeners.add(listener);
  }

  #drop(tenantId: string | '*') {
    if (tenantId === '*') this.#cache.clear();
    else this.#cache.delete(tenantId);
    for (const listener of this.#listeners) listener(tenantId);
  }
}
