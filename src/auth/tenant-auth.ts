/**
 * Tenant requests: the tenant comes from the verified access token only. A header naming another
 * tenant is refused, never obeyed; suspended and deleted tenants are refused on every request
 * (the tenant directory is invalidated on every instance when the catalog changes).
 */
import fastifyJwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Tenant } from '../catalog/catalog-client.js';
import { AppError, problems } from '../http/problems.js';
import type { TenantClient } from '../router/tenant-router.js';
import { accessClaims, type AccessClaims, jwtOptions } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: Tenant;
    /** Prisma client bound to `tenant`: the only way tenant routes reach data. */
    db: TenantClient;
    claims: AccessClaims;
  }
  interface FastifyInstance {
    /** onRequest hook for routes that serve a tenant's user. */
    authenticateTenant(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

const refused: Partial<Record<Tenant['status'], AppError>> = {
  suspended: new AppError(problems.tenantSuspended, 'This tenant is suspended; contact your administrator'),
  deleted: new AppError(problems.tenantUnavailable, 'This tenant no longer exists'),
  provisioning: new AppError(problems.tenantUnavailable, 'This tenant is still being set up'),
};

export const tenantAuthPlugin = fp(
  async (app) => {
    const options = jwtOptions(app.platform.config.jwt);
    await app.register(fastifyJwt, { secret: options.secret, sign: options.sign, verify: options.verify });

    app.decorate('authenticateTenant', async (request: FastifyRequest, reply: FastifyReply) => {
      let claims: AccessClaims;
      try {
        claims = accessClaims.parse(await request.jwtVerify());
      } catch {
        throw new AppError(problems.unauthenticated, 'A valid bearer token is required');
      }
      const tenant = await app.platform.tenants.byId(claims.tid);
      if (!tenant) throw new AppError(problems.unauthenticated, 'A valid bearer token is required');
      const refusal = refused[tenant.status];
      if (refusal) throw refusal;
      const named = request.headers['x-tenant'];
      if (named !== undefined && named !== tenant.slug && named !== tenant.id) {
        throw new AppError(problems.tenantMismatch, 'X-Tenant names a tenant other than the one in the token');
      }
      request.claims = claims;
      request.tenant = tenant;
      request.db = app.platform.router.clientFor(tenant);
      request.log = reply.log = request.log.child({ tenantId: tenant.id });
    });
  },
  { name: 'strata-tenant-auth', dependencies: ['strata-platform'] },
);
