/**
 * `authenticateAdmin`, the admin route group's onRequest hook (src/http/route-groups.ts), accepts
 * only admin tokens of enabled accounts, so a tenant token is refused like none.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken } from '../auth/tokens.js';
import { AppError, problems } from '../http/problems.js';
import { activeAdmin, type AdminIdentity, ensureBootstrapAdmin } from './admin-accounts.js';
import { adminTokenVerifier } from './admin-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by authenticateAdmin on admin routes. */
    admin: AdminIdentity;
  }
  interface FastifyInstance {
    verifyAdminToken(token: string): { id: string } | null;
  }
}

export const adminAuthPlugin = fp(
  async (app) => {
    app.decorate('verifyAdminToken', adminTokenVerifier(app.platform.config.jwt));
    app.decorateRequest('admin', null as never);
    await ensureBootstrapAdmin(app.platform.catalog, app.platform.config);
  },
  { name: 'strata-admin-auth', dependencies: ['strata-platform'] },
);

export async function authenticateAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const token = bearerToken(request.headers.authorization);
  const verified = token ? request.server.verifyAdminToken(token) : null;
  const admin = verified ? await activeAdmin(request.server.platform.catalog, verified.id) : null;
  if (!admin) throw new AppError(problems.unauthenticated, 'A valid admin bearer token is required');
  request.admin = admin;
  request.log = request.log.child({ adminId: admin.id });
}
