/**
 * Tenant lookups, cached until any instance announces a change. Without Redis, or while it is
 * down, the short TTL bounds how long a suspended tenant can still be served.
 */
import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import { databaseUnreachable, TenantDatabaseUnreachableError } from '../router/tenant-sql.js';
import type { Tenant } from './catalog-client.js';
import type { CatalogEvents } from './catalog-events.js';

/**
 * Prisma's `tenant.findUnique` row in plain SQL, which costs far less CPU on a tenant's first
 * request; test/catalog/tenant-directory.test.ts compares them.
 */
export const tenantRowSql = `SELECT id, slug, name, plan, tier, status, server_id AS "serverId", schema_name AS "schemaName",
  database_name AS "databaseName", config, version, created_at AS "createdAt", updated_at AS "updatedAt"
  FROM tenants WHERE id = $1`;

const remembered = 100_000;

export class TenantDirectory {
  // Freshness is judged when read: the TTL depends on whether changes are announced now.
  readonly #cache = new LRUCache<string, { tenant: Tenant | null; fetched: number }>({ max: remembered });
  readonly #pending = new Map<string, Promise<Tenant | null>>();
  /** Bumped by every change heard: a lookup that started before one must not cache what it read. */
  #generation = 0;
  readonly #listeners = new Set<(tenantId: string | '*') => void>();
  readonly counts = { hits: 0, misses: 0, invalidations: 0, flushes: 0 };

  constructor(
    private readonly catalog: pg.Pool,
    private readonly ttl: { announced: number; unannounced: number },
    private readonly events?: CatalogEvents,
  ) {
    events?.onTenantChanged((tenantId) => this.#drop(tenantId));
  }

  byId(id: string): Promise<Tenant | null> {
    const hit = this.#cache.get(id);
    const ttl = this.events?.listening ? this.ttl.announced : this.ttl.unannounced;
    if (hit && Date.now() - hit.fetched < ttl) {
      this.counts.hits++;
      return Promise.resolve(hit.tenant);
    }
    this.counts.misses++;
    return this.#pending.get(id) ?? this.#fetch(id);
  }

  #fetch(id: string): Promise<Tenant | null> {
    const generation = this.#generation;
    const pending = this.catalog
      .query<Tenant>(tenantRowSql, [id])
      .then(({ rows: [tenant = null] }) => {
        if (generation === this.#generation) this.#cache.set(id, { tenant, fetched: Date.now() });
        return tenant;
      })
      .catch((err: unknown) => {
        throw databaseUnreachable(err) ? new TenantDatabaseUnreachableError(err) : err;
      })
      .finally(() => {
        if (this.#pending.get(id) === pending) this.#pending.delete(id);
      });
    this.#pending.set(id, pending);
    return pending;
  }

  async changed(tenantId: string): Promise<void> {
    this.#drop(tenantId);
    await this.events?.publishTenantChanged(tenantId);
  }

  onChange(listener: (tenantId: string | '*') => void): void {
    this.#listeners.add(listener);
  }

  channelState(): { connected: boolean; subscribed: boolean } {
    return { connected: this.events?.connected ?? false, subscribed: this.events?.listening ?? false };
  }

  #drop(tenantId: string | '*') {
    this.#generation++;
    if (tenantId === '*') this.counts.flushes++;
    else this.counts.invalidations++;
    // A lookup on its way may have read the row before the change: later callers ask again.
    if (tenantId === '*') {
      this.#cache.clear();
      this.#pending.clear();
    } else {
      this.#cache.delete(tenantId);
      this.#pending.delete(tenantId);
    }
    for (const listener of this.#listeners) listener(tenantId);
  }
}
