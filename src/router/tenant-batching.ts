/**
 * Keeps Prisma's findUnique batching per tenant, else a tick's batches run as the first caller's
 * tenant. Prisma 7 internals: test/router/batching.test.ts.
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
  // batchBy runs synchronously in the caller's context, where the tenant is still known.
  options.batchBy = (request) => {
    const binding = peekBinding();
    if (binding) bindings.set(request, binding);
    const key = batchBy(request);
    return key && `${binding?.tenantId ?? 'unbound'}:${key}`;
  };
  options.singleLoader = (request) => bound(request, () => singleLoader(request));
  options.batchLoader = (requests) => bound(requests[0], () => batchLoader(requests));
}
