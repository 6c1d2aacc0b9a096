/**
 * /deals: CRUD of the tenant's deals, with keyset pagination and version-checked edits. Roles are
 * checked against the permission matrix; staff reach only the deals they own (others are 404).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../audit/tenant-audit.js';
import { recordScope } from '../../auth/permissions.js';
import { assertMayAssign, requirePermission } from '../../auth/tenant-auth.js';
import { expectedVersion, ifMatchHeaders } from '../../http/if-match.js';
import { dealInput, dealListQuery, dealOutput, dealPage, dealParams, dealPatch } from './deal-schemas.js';
import { createDeal, type DealRecord, deleteDeal, getDeal, listDeals, updateDeal } from './deal-store.js';
import { requireFeature } from '../../settings/require-feature.js';

function toOutput(deal: DealRecord): z.infer<typeof dealOutput> {
  const { tenantId: _tenant, amount, closeDate, createdAt, updatedAt, ...rest } = deal;
  return {
    ...rest,
    amount: amount.toFixed(2),
    closeDate: closeDate ? closeDate.toISOString().slice(0, 10) : null,
    createdAt: createdAt.toISOString(),
    updatedAt: updatedAt.toISOString(),
  };
}

const etag = (deal: DealRecord) => `"${deal.version}"`;

export const dealRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', requireFeature('deals'));

  const read = requirePermission('crm.read');
  const write = requirePermission('crm.write');

  app.get('/deals', { preHandler: read, schema: { querystring: dealListQuery, response: { 200: dealPage } } }, async (request) => {
    const page = await listDeals(request.db, recordScope(request.claims), request.query);
    return { items: page.items.map(toOutput), nextCursor: page.nextCursor };
  });

  app.post('/deals', { preHandler: write, schema: { body: dealInput, response: { 201: dealOutput } } }, async (request, reply) => {
    await assertMayAssign(request, request.body.ownerId);
    const deal = await createDeal(request.db, recordScope(request.claims), request.body, request.claims.sub);
    return reply.status(201).header('etag', etag(deal)).header('location', `/deals/${deal.id}`).send(toOutput(deal));
  });

  app.get('/deals/:id', { preHandler: read, schema: { params: dealParams, response: { 200: dealOutput } } }, async (request, reply) => {
    const deal = await getDeal(request.db, recordScope(request.claims), request.params.id);
    return reply.header('etag', etag(deal)).send(toOutput(deal));
  });

  app.patch(
    '/deals/:id',
    {
      preHandler: write,
      schema: { params: dealParams, headers: ifMatchHeaders, body: dealPatch, response: { 200: dealOutput } },
    },
    async (request, reply) => {
      const version = expectedVersion(request.headers['if-match']);
      await assertMayAssign(request, request.body.ownerId);
      const deal = await updateDeal(request.db, recordScope(request.claims), request.params.id, request.body, version, actorOf(request.claims));
      return reply.header('etag', etag(deal)).send(toOutput(deal));
    },
  );

  app.delete(
    '/deals/:id',
    { preHandler: requirePermission('crm.delete'), schema: { params: dealParams, headers: ifMatchHeaders, response: { 204: z.null() } } },
    async (request, reply) => {
      await deleteDeal(request.db, recordScope(request.claims), request.params.id, expectedVersion(request.headers['if-match']), actorOf(request.claims));
      return reply.status(204).send(null);
    },
  );
};
