/**
 * Every route is registered in one of three groups, and its group, not its route file,
 * authenticates it: `tenant` routes run app.authenticateTenant and `admin` routes authenticateAdmin
 * as their first own onRequest hook (before any hook of the route file, e.g. requireFeature), and
 * `public` routes take no token (or check their own, like /metrics). A route file joins a group by
 * being listed under it in app.ts; test/http/route-groups.test.ts fails on a route it cannot place.
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
