/**
 * /activities: notes, calls, emails and meetings on the tenant's leads and deals, with keyset
 * pagination (newest occurrence first). Roles are checked against the permission matrix; staff
 * reach only what they wrote or what belongs to a lead or deal they see (others are 404).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../audit/tenant-audit.js';
import { recordScope } from '../../auth/permissions.js';
import { requirePermission } from '../../auth/tenant-auth.js';
import { activityInput, activityListQuery, activityOutput, activityPage, activityParams, activityPatch } from './activity-schemas.js';
import { type ActivityRecord, createActivity, deleteActivity, getActivity, listActivities, updateActivity } from './activity-store.js';
import { requireFeature } from '../../settings/require-feature.js';

function toOutput(activity: ActivityRecord): z.infer<typeof activityOutput> {
  const { tenantId: _tenant, occurredAt, createdAt, ...rest } = activity;
  return { ...rest, occurredAt: occurredAt.toISOString(), createdAt: createdAt.toISOString() };
}

export const activityRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', requireFeature('activities'));

  const read = requirePermission('crm.read');
  const write = requirePermission('crm.write');

  app.get('/activities', { preHandler: read, schema: { querystring: activityListQuery, response: { 200: activityPage } } }, async (request) => {
    const page = await listActivities(request.db, recordScope(request.claims), request.query);
    return { items: page.items.map(toOutput), nextCursor: page.nextCursor };
  });

  app.post('/activities', { preHandler: write, schema: { body: activityInput, response: { 201: activityOutput } } }, async (request, reply) => {
    const activity = await createActivity(request.db, recordScope(request.claims), request.body, request.claims.sub);
    return reply.status(201).header('location', `/activities/${activity.id}`).send(toOutput(activity));
  });

  app.get('/activities/:id', { preHandler: read, schema: { params: activityParams, response: { 200: activityOutput } } }, async (request) =>
    toOutput(await getActivity(request.db, recordScope(request.claims), request.params.id)),
  );

  app.patch(
    '/activities/:id',
    { preHandler: write, schema: { params: activityParams, body: activityPatch, response: { 200: activityOutput } } },
    async (request) => toOutput(await updateActivity(request.db, recordScope(request.claims), request.params.id, request.body, actorOf(request.claims))),
  );

  app.delete(
    '/activities/:id',
    { preHandler: requirePermission('crm.delete'), schema: { params: activityParams, response: { 204: z.null() } } },
    async (request, reply) => {
      await deleteActivity(request.db, recordScope(request.claims), request.params.id, actorOf(request.claims));
      return reply.status(204).send(null);
    },
  );
};
