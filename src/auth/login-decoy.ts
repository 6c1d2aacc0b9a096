/**
 * Equal work for logins whose email names no tenant: they still look a user up in a tenant's tier,
 * the last one a login named (the traffic's own mix of tiers), so they cost what a real one does.
 */
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
    /** The lookup a registered email would cost; its result is never used. */
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
