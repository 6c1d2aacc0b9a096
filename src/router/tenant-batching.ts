/**
 * Prisma batches findUnique calls made in the same tick into one query, and dispatches every
 * batch of that tick from a process.nextTick scheduled by the first caller. With one client shared
 * by all tenants, tenant B's lookup would then run bound to tenant A (and come back empty: keys
 * start with tenant_id, so it cannot leak, but it is wrong). This keeps batching per tenant: the
 * batch key carries the tenant, and each batch runs bound to the tenant that queued it.
 *
 * It reaches into Prisma 7's request handler (not a public API, src/platform/driver-internals.ts);
 * test/router/batching.test.ts fails if a Prisma upgrade changes it, and this function refuses to
 * start the router instead of silently leaving batching unbound.
 */
import { prismaBatching } from '../platform/driver-internals.js';
import { peekBinding, runBound, type TenantBinding } from './tenant-context.js';

type Request = object;

export function bindBatchesToTenants(client: object): void {
  const options = prismaBatching(client);
  if (!options) {
    throw new Error('Prisma request batching is not where this version of Strata expects it: refusing to share a client across tenants');
  }
  const { batchBy, singleLoader, batchLoader } = options;
  const bindings = new WeakMap<Request, TenantBinding>();
  const bound = <T>(request: Request | undefined, fn: () => T): T => {
    const binding = request && bindings.get(request);
    return binding ? runBound(binding, fn) : fn();
  };
  // batchBy runs synchronously in the caller's context: the one place the tenant is still known.
  options.batchBy = (request) => {
    const binding = peekBinding();
    if (binding) bindings.set(request, binding);
    const key = batchBy(request);
    return key && `${binding?.tenantId ?? 'unbound'}:${key}`;
  };
  options.singleLoader = (request) => bound(request, () => singleLoader(request));
  options.batchLoader = (requests) => bound(requests[0], () => batchLoader(requests));
}
