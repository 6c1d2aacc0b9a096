/**
 * A route's group (app.ts) authenticates in its first onRequest hook, before the route file's.
 * Pinned by test/http/route-groups.test.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { authenticateAdmin } from '../admin/admin-auth.js';

// Named (app.authenticateTenant is not), so printRoutes says what a route's hooks do.
function authenticateTenant(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
  return this.authenticateTenant(request, reply);
}

const authentication = { public: undefined, tenant: authenticateTenant, admin: authenticateAdmin } as const;

export type RouteGroup = keyof typeof authentication;

export function routeGroup(group: RouteGroup, routes: FastifyPluginAsyncZod[]): FastifyPluginAsyncZod {
  return async (app) => {
    const authenticate = authentication[group];
    if (authenticate) app.addHook('onRequest', authenticate);
    for (const plugin of routes) await app.register(plugin);
  };
}
