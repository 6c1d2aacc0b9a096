import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pageOf, pageQuery } from '../http/schema-parts.js';
import { listAdminActions } from './admin-audit.js';

const auditQuery = z.object({ ...pageQuery, tenantId: z.uuid().optional(), adminId: z.uuid().optional(), action: z.string().max(100).optional() }).strict();

export const adminAction = z.object({
  id: z.uuid(),
  adminId: z.uuid().nullable(),
  action: z.string(),
  tenantId: z.uuid().nullable(),
  details: z.record(z.string(), z.unknown()),
  at: z.string(),
});

export const adminAuditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/admin/audit', { schema: { querystring: auditQuery, response: { 200: pageOf(adminAction) } } }, async (request) => {
    const result = await listAdminActions(app.platform.catalog, request.query);
    return {
      items: result.items.map((e) => ({ ...e, details: e.details as Record<string, unknown>, at: e.at.toISOString() })),
      nextCursor: result.nextCursor,
    };
  });
};
