/**
 * Each route is registered in a group (app.ts) that authenticates it in its first own onRequest
 * hook, before the route file's (e.g. requireFeature). test/http/route-groups.test.ts fails on a
 * route it cannot place.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { authenticateAdmin } from '../admin/admin-auth.js';

// Named (app.authenticateTenant is not), so a route's hooks read as what they do in printRoutes.
function authenticateTenant(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
  return this.authenticateTenant(request, reply);
}

const authentication = { public: undefined, tenant: authenticateTenant, admin: authenticateAdmin } as const;

export type RouteGroup = keyof typeof authentication;

/** An encapsulated plugin serving `routes` behind `group`'s authentication. */
export function routeGroup(group: RouteGroup, routes: FastifyPluginAsyncZod[]): FastifyPluginAsyncZod {
  return async (app) => {
    const authenticate = authentication[group];
    if (authenticate) app.addHook('onRequest', authenticate);
    for (const plugin of routes) await app.register(plugin);
  };
}
