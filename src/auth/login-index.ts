/** The catalog's email → tenants login index (no secrets). */
import type { CatalogClient } from '../catalog/catalog-client.js';

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export async function addLoginRoute(catalog: CatalogClient, email: string, tenantId: string) {
  const key = { email: normalizeEmail(email), tenantId };
  await catalog.loginRoute.upsert({ where: { email_tenantId: key }, create: key, update: {} });
}

export async function removeLoginRoute(catalog: CatalogClient, email: string, tenantId: string) {
  await catalog.loginRoute.deleteMany({ where: { email: normalizeEmail(email), tenantId } });
}

export async function tenantsForEmail(catalog: CatalogClient, email: string) {
  const routes = await catalog.loginRoute.findMany({
    where: { email: normalizeEmail(email), tenant: { status: { not: 'deleted' } } },
    include: { tenant: true },
    take: 50,
  });
  return routes.map((r) => r.tenant);
}

export async function replaceLoginRoutes(catalog: CatalogClient, tenantId: string, emails: string[]) {
  const data = [...new Set(emails.map(normalizeEmail))].map((email) => ({ email, tenantId }));
  await catalog.$transaction([catalog.loginRoute.deleteMany({ where: { tenantId } }), catalog.loginRoute.createMany({ data })]);
}
