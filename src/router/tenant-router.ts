/**
 * The tier router: hands out Prisma clients bound to one tenant, whatever its tier.
 *
 * One PrismaClient serves every tenant (a client per tenant costs ~2.5 MiB, DESIGN.md §4). A
 * tenant handle is a `$extends` of it (~5 KB) that runs each operation with the tenant bound in
 * AsyncLocalStorage; the routing pool underneath picks the database, sets app.tenant_id and the
 * search path transaction-locally, and substitutes the tenant's schema.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/tenant/client.js';
import type { TenantPlacement } from '../tenants/placement.js';
import type { PoolRegistry } from './pool-registry.js';
import { bindBatchesToTenants } from './tenant-batching.js';
import { bindingFor, runBound, type TenantBinding } from './tenant-context.js';
import { placeholderSchema, TenantRoutingPool } from './tenant-routing-pool.js';
import { tenantSql, type TenantSql } from './tenant-sql.js';

function extendFor(base: PrismaClient, binding: TenantBinding) {
  return base.$extends({
    name: 'strata-tenant',
    query: {
      // Prisma's promises are lazy: the query must be awaited inside the bound context.
      async $allOperations({ args, query }) {
        return runBound(binding, async () => await query(args));
      },
    },
  });
}

/**
 * The tenant's handle. Its `$extends` of the shared client is made on first use of Prisma, not
 * with the handle: it costs ~8 KB and ~0.2–0.5 ms of CPU, part of every tenant's first request,
 * while hot paths (lead reads) use only `$rows` and may never need it.
 */
function bindClient(base: PrismaClient, pool: TenantRoutingPool, binding: TenantBinding) {
  let extended: ReturnType<typeof extendFor> | undefined;
  const prisma = () => (extended ??= extendFor(base, binding));
  const sql = tenantSql(pool, binding);
  // Interactive and batch transactions open their connection outside any model operation.
  const $transaction = (...args: unknown[]) =>
    runBound(binding, async () => await (prisma().$transaction as (...a: unknown[]) => Promise<unknown>)(...args));
  return new Proxy({} as ReturnType<typeof extendFor>, {
    get(_target, prop, receiver) {
      if (prop === '$rows') return sql.$rows;
      if (prop === '$transaction') return $transaction;
      return Reflect.get(prisma(), prop, receiver);
    },
  }) as ReturnType<typeof extendFor> & TenantSql;
}

/** A Prisma client that can reach only one tenant's rows. */
export type TenantClient = ReturnType<typeof bindClient>;

export interface TenantRouterOptions {
  /** The runtime-role pools the router routes to; the router closes them when it closes. */
  registry: PoolRegistry;
  /** Tenant handles kept for reuse (each ~5 KB). */
  maxHandles?: number;
  /**
   * How long a transaction may wait for a connection (Prisma's maxWait, 2 s by default). Single
   * statements queue for their pool without limit; transactions should not give up much sooner.
   */
  transactionWaitMs?: number;
}

interface Handle {
  placement: TenantPlacement;
  client: TenantClient;
}

export class TenantRouter {
  readonly #registry: PoolRegistry;
  readonly #base: PrismaClient;
  readonly #pool: TenantRoutingPool;
  readonly #handles = new Map<string, Handle>();
  readonly #maxHandles: number;

  constructor(options: TenantRouterOptions) {
    this.#registry = options.registry;
    this.#pool = new TenantRoutingPool(this.#registry);
    this.#base = new PrismaClient({
      adapter: new PrismaPg(this.#pool, { schema: placeholderSchema }),
      transactionOptions: { maxWait: options.transactionWaitMs },
    });
    bindBatchesToTenants(this.#base);
    this.#maxHandles = options.maxHandles ?? 10_000;
  }

  /** A client bound to `tenant`; cached until the tenant's placement or version changes. */
  clientFor(tenant: TenantPlacement): TenantClient {
    const hit = this.#handles.get(tenant.id);
    if (hit && samePlacement(hit.placement, tenant)) {
      this.#handles.delete(tenant.id);
      this.#handles.set(tenant.id, hit);
      return hit.client;
    }
    const client = bindClient(this.#base, this.#pool, bindingFor(tenant));
    this.#handles.delete(tenant.id);
    this.#handles.set(tenant.id, { placement: { ...tenant }, client });
    if (this.#handles.size > this.#maxHandles) this.#handles.delete(this.#handles.keys().next().value!);
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

  async close(): Promise<void> {
    this.#handles.clear();
    await this.#base.$disconnect();
    await this.#registry.closeAll();
  }
}

function samePlacement(a: TenantPlacement, b: TenantPlacement): boolean {
  return (
    a.version === b.version &&
    a.tier === b.tier &&
    a.serverId === b.serverId &&
    a.schemaName === b.schemaName &&
    a.databaseName === b.databaseName
  );
}
