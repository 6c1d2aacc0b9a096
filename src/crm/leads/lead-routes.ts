/** /leads: CRUD of the tenant's leads, with keyset pagination and version-checked edits. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { recordScope } from '../../auth/permissions.js';
import { assertMayAssign, requirePermission } from '../../auth/tenant-auth.js';
import { actorOf } from '../../audit/tenant-audit.js';
import { requestSettings } from '../../settings/require-feature.js';
import { tenantUserId } from '../../users/user-store.js';
import { z } from 'zod';
import { expectedVersion, ifMatchHeaders } from '../../http/if-match.js';
import { createLead, deleteLead, getLead, type LeadRecord, listLeads, updateLead } from './lead-store.js';
import { leadInput, leadListQuery, leadOutput, leadPage, leadParams, leadPatch } from './lead-schemas.js';

// Field by field rather than a rest spread, which was ~9% of the CPU of a page of leads.
function toOutput(lead: LeadRecord): z.infer<typeof leadOutput> {
  return {
    id: lead.id,
    name: lead.name,
    company: lead.company,
    email: lead.email,
    phone: lead.phone,
    source: lead.source,
    status: lead.status,
    ownerId: lead.ownerId,
    assigneeId: lead.assigneeId,
    version: lead.version,
    createdAt: lead.createdAt.toISOString(),
    updatedAt: lead.updatedAt.toISOString(),
  };
}

const etag = (lead: LeadRecord) => `"${lead.version}"`;

export const leadRoutes: FastifyPluginAsyncZod = async (app) => {
  const read = requirePermission('crm.read');
  const write = requirePermission('crm.write');

  app.get('/leads', { preHandler: read, schema: { querystring: leadListQuery, response: { 200: leadPage } } }, async (request) => {
    const page = await listLeads(request.db, recordScope(request.claims), request.query);
    return { items: page.items.map(toOutput), nextCursor: page.nextCursor };
  });

  app.post('/leads', { preHandler: write, schema: { body: leadInput, response: { 201: leadOutput } } }, async (request, reply) => {
    await assertMayAssign(request, request.body.ownerId, request.body.assigneeId);
    const ownerId = request.body.ownerId === undefined ? await tenantUserId(request.db, request.claims.sub) : request.body.ownerId;
    const lead = await createLead(request.db, { ...request.body, ownerId }, { ...actorOf(request.claims), maxLeads: requestSettings(request).limits.leads });
    return reply.status(201).header('etag', etag(lead)).header('location', `/leads/${lead.id}`).send(toOutput(lead));
  });

  app.get('/leads/:id', { preHandler: read, schema: { params: leadParams, response: { 200: leadOutput } } }, async (request, reply) => {
    const lead = await getLead(request.db, recordScope(request.claims), request.params.id);
    return reply.header('etag', etag(lead)).send(toOutput(lead));
  });

  app.patch(
    '/leads/:id',
    { preHandler: write, schema: { params: leadParams, headers: ifMatchHeaders, body: leadPatch, response: { 200: leadOutput } } },
    async (request, reply) => {
      const version = expectedVersion(request.headers['if-match']);
      await assertMayAssign(request, request.body.ownerId, request.body.assigneeId);
      const lead = await updateLead(request.db, recordScope(request.claims), request.params.id, request.body, version, actorOf(request.claims));
      return reply.header('etag', etag(lead)).send(toOutput(lead));
    },
  );

  app.delete(
    '/leads/:id',
    { preHandler: requirePermission('crm.delete'), schema: { params: leadParams, headers: ifMatchHeaders, response: { 204: z.null() } } },
    async (request, reply) => {
      await deleteLead(request.db, recordScope(request.claims), request.params.id, expectedVersion(request.headers['if-match']), actorOf(request.claims));
      return reply.status(204).send(null);
    },
  );
};
