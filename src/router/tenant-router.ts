/**
 * The tier router: hands out Prisma clients bound to one tenant, whatever its tier.
 *
 * One PrismaClient serves every tenant (a client per tenant costs ~2.5 MiB, docs/architecture.md). A
 * tenant handle (tenant-handle.ts) runs each of its operations with the tenant bound in
 * AsyncLocalStorage; the routing pool underneath picks the database, sets app.tenant_id and the
 * search path transaction-locally, and substitutes the tenant's schema.
 */
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
  /** The runtime-role pools the router routes to; the router closes them when it closes. */
  registry: PoolRegistry;
  /** How many tenant handles are kept for reuse. */
  maxHandles?: number;
  /** How long a transaction may wait for a connection (Prisma's maxWait; 2 s when not given). */
  connectionWaitMs?: number;
  /** A tenant's guards (statement timeout, concurrency cap), read when its handle is made; none when not given. */
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

  /** Statements refused by the tenant guards, per tenant; listeners hear of each (e.g. accounting). */
  get guardRejections(): GuardRejections {
    return this.#pool.rejections;
  }

  /** A client bound to `tenant`; cached until the tenant's placement or version (its plan and config too) changes. */
  clientFor(tenant: TenantPlacement): TenantClient {
    const hit = this.#handles.get(tenant.id);
    if (hit && samePlacement(hit.placement, tenant)) return hit.client;
    const client = bindClient(this.#base, this.#pool, bindingFor(tenant, this.#guardsFor(tenant)));
    this.#handles.set(tenant.id, { placement: { ...tenant }, client });
    return client;
  }

  /** Runs `fn` with a client bound to `tenant`. */
  withTenant<T>(tenant: TenantPlacement, fn: (db: TenantClient) => Promise<T>): Promise<T> {
    return fn(this.clientFor(tenant));
  }

  /** Forgets a tenant's handle, e.g. when the catalog says it changed. */
  forget(tenantId: string): void {
    this.#handles.delete(tenantId);
  }

  forgetAll(): void {
    this.#handles.clear();
  }

  /** Closes this instance's pool of a database no tenant is routed to any more (a moved tenant's old one). */
  closeDatabase(serverId: string, database: string): Promise<void> {
    return this.#registry.close(serverId, database);
  }

  /** The runtime-role pools it routes to, open right now (see PoolRegistry.openPools). */
  openPools() {
    return this.#registry.openPools();
  }

  stats() {
    return { handles: this.#handles.size, ...this.#registry.stats() };
  }

  /** Tells `observer` of every statement, transaction and pool from now on (router-observer.ts); returns what stops it. */
  observe(observer: RouterObserver): () => void {
    return this.#registry.observers.add(observer);
  }

  /** Each pool open or draining, read now: connections in use, idle and waited for, kept statements. */
  poolStats() {
    return this.#registry.poolStats();
  }

  /** The connection budget and its use, read now. */
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
