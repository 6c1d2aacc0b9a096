/** /users: the tenant's users. Everyone may read; owners and admins manage; only owners touch owners. */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requirePermission } from '../auth/tenant-auth.js';
import { actorOf } from '../audit/tenant-audit.js';
import { requestSettings } from '../settings/require-feature.js';
import { expectedVersion, ifMatchHeaders } from '../http/if-match.js';
import { createUser, getUser, listUsers, updateUser, type UserRecord } from './user-store.js';
import { userCreate, userCreated, userListQuery, userOutput, userPage, userParams, userPatch } from './user-schemas.js';

function toOutput(user: UserRecord): z.infer<typeof userOutput> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    status: user.status,
    version: user.version,
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

const etag = (user: UserRecord) => `"${user.version}"`;

export const userRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.authenticateTenant);
  const read = requirePermission('users.read');
  const manage = requirePermission('users.manage');
  const context = (request: FastifyRequest) => ({
    db: request.db,
    catalog: app.platform.catalog,
    tenantId: request.tenant.id,
    ...actorOf(request.claims),
    maxUsers: requestSettings(request).limits.users,
    standing: app.platform.userStanding,
  });

  app.get('/users', { preHandler: read, schema: { querystring: userListQuery, response: { 200: userPage } } }, async (request) => {
    const page = await listUsers(request.db, request.query);
    return { items: page.items.map(toOutput), nextCursor: page.nextCursor };
  });

  app.get('/users/:id', { preHandler: read, schema: { params: userParams, response: { 200: userOutput } } }, async (request, reply) => {
    const user = await getUser(request.db, request.params.id);
    return reply.header('etag', etag(user)).send(toOutput(user));
  });

  app.post('/users', { preHandler: manage, schema: { body: userCreate, response: { 201: userCreated } } }, async (request, reply) => {
    if (request.body.role === 'owner') await requirePermission('users.manage-owners')(request);
    const { user, temporaryPassword } = await createUser(context(request), request.body);
    return reply
      .status(201)
      .header('etag', etag(user))
      .header('location', `/users/${user.id}`)
      .send({ ...toOutput(user), ...(temporaryPassword && { temporaryPassword }) });
  });

  app.patch(
    '/users/:id',
    { preHandler: manage, schema: { params: userParams, headers: ifMatchHeaders, body: userPatch, response: { 200: userOutput } } },
    async (request, reply) => {
      const version = expectedVersion(request.headers['if-match']);
      const target = await getUser(request.db, request.params.id);
      if (target.role === 'owner' || request.body.role === 'owner') await requirePermission('users.manage-owners')(request);
      if (request.body.password) await requirePermission(`users.reset-password.${target.role}`)(request);
      const user = await updateUser(context(request), request.params.id, request.body, version);
      return reply.header('etag', etag(user)).send(toOutput(user));
    },
  );

  app.delete(
    '/users/:id',
    { preHandler: manage, schema: { params: userParams, headers: ifMatchHeaders, response: { 204: z.null() } } },
    async (request, reply) => {
      const target = await getUser(request.db, request.params.id);
      if (target.role === 'owner') await requirePermission('users.manage-owners')(request);
      // Users are deactivated, not erased: their records keep their owner and author.
      await updateUser(context(request), request.params.id, { status: 'deactivated' }, expectedVersion(request.headers['if-match']));
      return reply.status(204).send(null);
    },
  );
};
