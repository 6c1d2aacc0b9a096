/** /leads: CRUD of the tenant's leads, with keyset pagination and version-checked edits. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Lead } from '../../generated/tenant/client.js';
import { AppError, problems } from '../../http/problems.js';
import { createLead, deleteLead, getLead, listLeads, updateLead } from './lead-store.js';
import { ifMatchHeaders, leadInput, leadListQuery, leadOutput, leadPage, leadParams, leadPatch } from './lead-schemas.js';

function toOutput(lead: Lead): z.infer<typeof leadOutput> {
  const { tenantId: _tenant, createdAt, updatedAt, ...rest } = lead;
  return { ...rest, createdAt: createdAt.toISOString(), updatedAt: updatedAt.toISOString() };
}

/** Parses If-Match into a version; absent means "last write wins". */
function expectedVersion(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(ifMatch.trim());
  if (!match) throw new AppError(problems.preconditionRequired, 'If-Match must be an ETag this API returned, e.g. "3"');
  return Number(match[1]);
}

const etag = (lead: Lead) => `"${lead.version}"`;

export const leadRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticateTenant);

  app.get('/leads', { schema: { querystring: leadListQuery, response: { 200: leadPage } } }, async (request) => {
    const page = await listLeads(request.db, request.query);
    return { items: page.items.map(toOutput), nextCursor: page.nextCursor };
  });

  app.post('/leads', { schema: { body: leadInput, response: { 201: leadOutput } } }, async (request, reply) => {
    const lead = await createLead(request.db, request.body);
    return reply.status(201).header('etag', etag(lead)).header('location', `/leads/${lead.id}`).send(toOutput(lead));
  });

  app.get('/leads/:id', { schema: { params: leadParams, response: { 200: leadOutput } } }, async (request, reply) => {
    const lead = await getLead(request.db, request.params.id);
    return reply.header('etag', etag(lead)).send(toOutput(lead));
  });

  app.patch(
    '/leads/:id',
    { schema: { params: leadParams, headers: ifMatchHeaders, body: leadPatch, response: { 200: leadOutput } } },
    async (request, reply) => {
      const version = expectedVersion(request.headers['if-match']);
      const lead = await updateLead(request.db, request.params.id, request.body, version);
      return reply.header('etag', etag(lead)).send(toOutput(lead));
    },
  );

  app.delete(
    '/leads/:id',
    { schema: { params: leadParams, headers: ifMatchHeaders, response: { 204: z.null() } } },
    async (request, reply) => {
      await deleteLead(request.db, request.params.id, expectedVersion(request.headers['if-match']));
      return reply.status(204).send(null);
    },
  );
};
