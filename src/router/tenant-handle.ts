/**
 * A tenant's handle on the shared Prisma client (not `$extends`: it clones arguments). Prisma's lazy
 * promises run in their first `then`'s async context: started in the binding, they never leak it.
 */
import { Prisma, type PrismaClient } from '../generated/tenant/client.js';
import { runBound, type TenantBinding } from './tenant-context.js';
import type { TenantRoutingPool } from './tenant-routing-pool.js';
import { tenantSql, type TenantSql } from './tenant-sql.js';

function extendFor(base: PrismaClient, binding: TenantBinding) {
  return base.$extends({
    name: 'strata-tenant',
    query: {
      async $allOperations({ args, query }) {
        return runBound(binding, async () => await query(args));
      },
    },
  });
}

/** A Prisma client that can reach only one tenant's rows. */
export type TenantClient = ReturnType<typeof extendFor> & TenantSql;

type Lazy = PromiseLike<unknown> & { catch(onRejected: unknown): Promise<unknown>; finally(onFinally: unknown): Promise<unknown> };

const isPrismaPromise = (value: unknown): value is Lazy =>
  typeof value === 'object' && value !== null && (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'PrismaPromise';

function boundMember(binding: TenantBinding, target: object, prop: string | symbol): unknown {
  const value: unknown = Reflect.get(target, prop);
  if (typeof value !== 'function') return value;
  return (...args: unknown[]) => {
    const result: unknown = value.apply(target, args);
    return isPrismaPromise(result) ? boundPromise(binding, result) : result;
  };
}

function boundPromise(binding: TenantBinding, lazy: Lazy): Lazy {
  let started: Promise<unknown> | undefined;
  const start = () => (started ??= runBound(binding, () => Promise.resolve(lazy.then())));
  return new Proxy(lazy, {
    get(target, prop) {
      if (prop === 'then') return (onFulfilled: never, onRejected: never) => start().then(onFulfilled, onRejected);
      if (prop === 'catch') return (onRejected: never) => start().catch(onRejected);
      if (prop === 'finally') return (onFinally: never) => start().finally(onFinally);
      return boundMember(binding, target, prop);
    },
  });
}

const modelKeys = new Set<string | symbol>(Object.values(Prisma.ModelName).map((name) => name[0]!.toLowerCase() + name.slice(1)));

export function bindClient(base: PrismaClient, pool: TenantRoutingPool, binding: TenantBinding): TenantClient {
  const sql = tenantSql(pool, binding);
  const models = new Map<string | symbol, object>();
  const model = (key: string | symbol) => new Proxy(Reflect.get(base, key) as object, { get: (target, prop) => boundMember(binding, target, prop) });
  const special: Record<string | symbol, unknown> = {
    $rows: sql.$rows,
    // Interactive and batch transactions open their connection outside any model operation.
    $transaction: (...args: unknown[]) => runBound(binding, async () => await (base.$transaction as (...a: unknown[]) => Promise<unknown>)(...args)),
    $extends: (...args: unknown[]) => (extendFor(base, binding).$extends as (...a: unknown[]) => unknown)(...args),
  };
  return new Proxy({} as TenantClient, {
    get(_target, prop) {
      if (prop in special) return special[prop];
      if (modelKeys.has(prop)) {
        let delegate = models.get(prop);
        if (!delegate) models.set(prop, (delegate = model(prop)));
        return delegate;
      }
      return boundMember(binding, base, prop);
    },
  });
}
