/** The tier router: per-tenant Prisma clients over one PrismaClient (docs/architecture.md). */
import { LRUCache } from 'lru-cache';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/tenant/client.js';
import type { TenantPlacement } from '../tenants/placement.js';
import type { PoolRegistry } from './pool-registry.js';
import type { RouterObserver } from './router-observer.js';
import { bindBatchesToTenants } from './tenant-batching.js';
import { bindingFor } from './tenant-context.js';
import { type GuardRejections, noGuards, type TenantGuards } from './tenant-guards.js';
import { bindClient, type TenantClient } from './tenant-handle.js';
import { placeholderSchema, TenantRoutingPool } from './tenant-routing-pool.js';

export type { TenantClient } from './tenant-handle.js';
export type { PoolClosedEvent, PoolEvent, RouterObserver, StatementEvent } from './router-observer.js';

export interface TenantRouterOptions {
  /** Closed when the router closes. */
  registry: PoolRegistry;
  maxHandles?: number;
  connectionWaitMs?: number;
  guardsFor?: (tenant: TenantPlacement) => TenantGuards;
}

interface Handle {
  placement: TenantPlacement;
  client: TenantClient;
}

export class TenantRouter {
  readonly #registry: PoolRegistry;
  readonly #base: PrismaClient;
  readonly #pool: TenantRoutingPool;
  readonly #handles: LRUCache<string, Handle>;
  readonly #guardsFor: (tenant: TenantPlacement) => TenantGuards;

  constructor(options: TenantRouterOptions) {
    this.#registry = options.registry;
    this.#pool = new TenantRoutingPool(this.#registry);
    this.#base = new PrismaClient({
      adapter: new PrismaPg(this.#pool, { schema: placeholderSchema }),
      transactionOptions: { maxWait: options.connectionWaitMs },
    });
    bindBatchesToTenants(this.#base);
    this.#handles = new LRUCache({ max: options.maxHandles ?? 10_000 });
    this.#guardsFor = options.guardsFor ?? (() => noGuards);
  }

  get guardRejections(): GuardRejections {
    return this.#pool.rejections;
  }

  /** Cached until the placement or version (covering plan and config) changes. */
  clientFor(tenant: TenantPlacement): TenantClient {
    const hit = this.#handles.get(tenant.id);
    if (hit && samePlacement(hit.placement, tenant)) return hit.client;
    const client = bindClient(this.#base, this.#pool, bindingFor(tenant, this.#guardsFor(tenant)));
    this.#handles.set(tenant.id, { placement: { ...tenant }, client });
    return client;
  }

  withTenant<T>(tenant: TenantPlacement, fn: (db: TenantClient) => Promise<T>): Promise<T> {
    return fn(this.clientFor(tenant));
  }

  forget(tenantId: string): void {
    this.#handles.delete(tenantId);
  }

  forgetAll(): void {
    this.#handles.clear();
  }

  /** For a database no tenant is routed to any more. */
  closeDatabase(serverId: string, database: string): Promise<void> {
    return this.#registry.close(serverId, database);
  }

  openPools() {
    return this.#registry.openPools();
  }

  stats() {
    return { handles: this.#handles.size, ...this.#registry.stats() };
  }

  observe(observer: RouterObserver): () => void {
    return this.#registry.observers.add(observer);
  }

  poolStats() {
    return this.#registry.poolStats();
  }

  budget() {
    return this.#registry.budget();
  }

  async close(): Promise<void> {
    this.#handles.clear();
    await this.#base.$disconnect();
    await this.#registry.closeAll();
  }
}

function samePlacement(a: TenantPlacement, b: TenantPlacement): boolean {
  return a.version === b.version && a.tier === b.tier && a.serverId === b.serverId && a.schemaName === b.schemaName && a.databaseName === b.databaseName;
}
