/** The catalog's trail of admin actions: who did what to which tenant. */
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { Prisma } from '../generated/catalog/client.js';
import { after, page } from '../pagination/keyset-cursor.js';

export interface AdminActionEntry {
  /** Null: an operator script. */
  adminId: string | null;
  /** `<area>.<verb>`, e.g. `tenant.suspend`. */
  action: string;
  tenantId?: string | null;
  details?: Record<string, unknown>;
  /** Who ran the script, e.g. `operator:alice`; kept in the details. */
  operator?: string;
}

/** Pass a transaction's client to record the action in the action's own transaction. */
export async function recordAdminAction(catalog: Prisma.TransactionClient, entry: AdminActionEntry): Promise<void> {
  const details = { ...entry.details, ...(entry.operator && { operator: entry.operator }) };
  await catalog.adminAuditEvent.create({
    data: { adminId: entry.adminId, action: entry.action, tenantId: entry.tenantId ?? null, details: details as Prisma.InputJsonObject },
  });
}

export async function listAdminActions(
  catalog: CatalogClient,
  query: { limit: number; cursor?: string; tenantId?: string; action?: string; adminId?: string },
) {
  const rows = await catalog.adminAuditEvent.findMany({
    where: { tenantId: query.tenantId, action: query.action, adminId: query.adminId, ...after('at', query.cursor) },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: query.limit + 1,
  });
  return page(rows, query.limit, (row) => row.at);
}
