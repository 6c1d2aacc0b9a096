/** The audit trail: GET /audit (auditLog feature) and, on any plan, /admin/tenants/:id/audit. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findTenant } from '../admin/tenant-lifecycle.js';
import { requirePermission } from '../auth/tenant-auth.js';
import type { AuditEvent } from '../generated/tenant/client.js';
import { pageOf, pageQuery } from '../http/schema-parts.js';
import type { TenantClient } from '../router/tenant-router.js';
import { requireFeature } from '../settings/require-feature.js';
import { listChanges } from './tenant-audit.js';

const auditQuery = z.object({ ...pageQuery, entity: z.string().max(50).optional(), entityId: z.uuid().optional(), actorId: z.uuid().optional() }).strict();

const auditEvent = z.object({
  id: z.uuid(),
  actorId: z.uuid().nullable(),
  action: z.string(),
  entity: z.string(),
  entityId: z.uuid(),
  changes: z.record(z.string(), z.unknown()),
  at: z.string(),
});
const auditPage = pageOf(auditEvent);

async function auditPageOf(db: TenantClient, query: z.infer<typeof auditQuery>): Promise<z.infer<typeof auditPage>> {
  const result = await listChanges(db, query);
  return {
    items: result.items.map((e: AuditEvent) => ({
      id: e.id,
      actorId: e.actorId,
      action: e.action,
      entity: e.entity,
      entityId: e.entityId,
      changes: e.changes as Record<string, unknown>,
      at: e.at.toISOString(),
    })),
    nextCursor: result.nextCursor,
  };
}

export const tenantAuditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', requireFeature('auditLog'));

  app.get('/audit', { preHandler: requirePermission('audit.read'), schema: { querystring: auditQuery, response: { 200: auditPage } } }, async (request) =>
    auditPageOf(request.db, request.query),
  );
};

export const adminTenantAuditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/admin/tenants/:id/audit',
    { schema: { params: z.object({ id: z.uuid() }), querystring: auditQuery, response: { 200: auditPage } } },
    async (request) => {
      const tenant = await findTenant(app.platform, request.params.id);
      return auditPageOf(app.platform.router.clientFor(tenant), request.query);
    },
  );
};
