/** Logins naming no tenant still look a user up (in the tier a login last named): equal cost. */
import type { CatalogClient, Tenant } from '../catalog/catalog-client.js';
import type { TenantDirectory } from '../catalog/tenant-directory.js';
import type { TenantRouter } from '../router/tenant-router.js';
import { findUser } from '../users/user-store.js';

export function loginDecoy(deps: { catalog: CatalogClient; tenants: TenantDirectory; router: TenantRouter }) {
  let lastNamed: string | undefined;
  return {
    named(tenant: Tenant) {
      if (tenant.status === 'active') lastNamed = tenant.id;
    },
    async lookUp(email: string): Promise<void> {
      lastNamed ??= (await deps.catalog.tenant.findFirst({ where: { status: 'active' }, select: { id: true } }))?.id;
      const tenant = lastNamed === undefined ? null : await deps.tenants.byId(lastNamed);
      if (tenant?.status !== 'active') {
        lastNamed = undefined;
        return;
      }
      await findUser(deps.router.clientFor(tenant), { email }).catch(() => null);
    },
  };
}
