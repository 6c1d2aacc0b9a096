/** /users: everyone may read; owners and admins manage; only owners touch owners and admins. */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Action } from '../auth/permissions.js';
import { assertPermission, requirePermission } from '../auth/tenant-auth.js';
import { actorOf } from '../audit/tenant-audit.js';
import { requestSettings } from '../settings/require-feature.js';
import { expectedVersion, ifMatchHeaders } from '../http/if-match.js';
import { addRecordReads, recordParams } from '../records/record-routes.js';
import { createUser, getUser, listUsers, updateUser, type UserRecord } from './user-store.js';
import { type UserPatch, type UserRole, userCreate, userCreated, userListQuery, userOutput, userPatch } from './user-schemas.js';

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

/** What giving someone `role` needs beyond users.manage. */
function permissionsToGrant(role: UserRole | undefined): Action[] {
  if (role === 'owner') return ['users.manage-owners'];
  if (role === 'admin') return ['users.manage-admins'];
  return [];
}

/**
 * What changing `target` needs beyond users.manage: an owner's or an admin's role and status are
 * changed only by an owner, and a password reset needs a role above the target's.
 */
function permissionsToChange(target: UserRecord, patch: UserPatch): Action[] {
  const needed = permissionsToGrant(patch.role);
  const changesStanding = patch.role !== undefined || patch.status !== undefined;
  if (target.role === 'owner') needed.push('users.manage-owners');
  if (target.role === 'admin' && changesStanding) needed.push('users.manage-admins');
  if (patch.password) needed.push(`users.reset-password.${target.role}`);
  return needed;
}

export const userRoutes: FastifyPluginAsyncZod = async (app) => {
  const manage = requirePermission('users.manage');
  const context = (request: FastifyRequest) => ({
    db: request.db,
    catalog: app.platform.catalog,
    tenantId: request.tenant.id,
    ...actorOf(request.claims),
    maxUsers: requestSettings(request).limits.users,
    standing: app.platform.userStanding,
  });
  // On the user as locked, so a concurrent role change cannot slip in between.
  const changeContext = (request: FastifyRequest, patch: UserPatch) => ({
    ...context(request),
    authorize: (target: UserRecord) => permissionsToChange(target, patch).forEach((action) => assertPermission(request.claims.role, action)),
  });

  // Every user of the tenant is visible to everyone in it: no record scope.
  addRecordReads(app, {
    path: '/users',
    permissions: { read: 'users.read' },
    versioned: true,
    listQuery: userListQuery,
    output: userOutput,
    toOutput,
    list: (db, _scope, query) => listUsers(db, query),
    get: (db, _scope, id) => getUser(db, id),
  });

  app.post('/users', { preHandler: manage, schema: { body: userCreate, response: { 201: userCreated } } }, async (request, reply) => {
    for (const action of permissionsToGrant(request.body.role)) assertPermission(request.claims.role, action);
    const { user, temporaryPassword } = await createUser(context(request), request.body);
    return reply
      .status(201)
      .header('etag', etag(user))
      .header('location', `/users/${user.id}`)
      .send({ ...toOutput(user), ...(temporaryPassword && { temporaryPassword }) });
  });

  app.patch(
    '/users/:id',
    { preHandler: manage, schema: { params: recordParams, headers: ifMatchHeaders, body: userPatch, response: { 200: userOutput } } },
    async (request, reply) => {
      const version = expectedVersion(request.headers['if-match']);
      const user = await updateUser(changeContext(request, request.body), request.params.id, request.body, version);
      return reply.header('etag', etag(user)).send(toOutput(user));
    },
  );

  app.delete(
    '/users/:id',
    { preHandler: manage, schema: { params: recordParams, headers: ifMatchHeaders, response: { 204: z.null() } } },
    async (request, reply) => {
      const deactivation = { status: 'deactivated' } as const;
      // Users are deactivated, not erased: their records keep their owner and author.
      await updateUser(changeContext(request, deactivation), request.params.id, deactivation, expectedVersion(request.headers['if-match']));
      return reply.status(204).send(null);
    },
  );
};
