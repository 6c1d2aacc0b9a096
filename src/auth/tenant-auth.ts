/**
 * The tenant comes from the verified access token only: a header or host naming another is refused,
 * never obeyed; so are suspended or deleted tenants and stale users' tokens, on every request.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Tenant } from '../catalog/catalog-client.js';
import { AppError, problems } from '../http/problems.js';
import type { TenantClient } from '../router/tenant-router.js';
import { type Action, can } from './permissions.js';
import { accessTokenVerifier, type AccessClaims, bearerToken } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: Tenant;
    /** Prisma client bound to `tenant`: the only way tenant routes reach data. */
    db: TenantClient;
    claims: AccessClaims;
  }
  interface FastifyInstance {
    authenticateTenant(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

/** `acme.<base domain>` → acme, if hosts name tenants. */
export function slugFromHost(host: string | undefined, baseDomain: string | undefined): string | undefined {
  if (!host || !baseDomain) return undefined;
  const name = host.split(':')[0]!.toLowerCase();
  return name.endsWith(`.${baseDomain}`) ? name.slice(0, -(baseDomain.length + 1)) : undefined;
}

export const refused: Partial<Record<Tenant['status'], AppError>> = {
  suspended: new AppError(problems.tenantSuspended, 'This tenant is suspended; contact your administrator'),
  deleted: new AppError(problems.tenantUnavailable, 'This tenant no longer exists'),
  provisioning: new AppError(problems.tenantUnavailable, 'This tenant is still being set up'),
};

const unauthenticated = () => new AppError(problems.unauthenticated, 'A valid bearer token is required');

export const tenantAuthPlugin = fp(
  async (app) => {
    const verifyAccessToken = accessTokenVerifier(app.platform.config.jwt);
    // Declared null up front so every request object has one shape.
    for (const property of ['tenant', 'db', 'claims'] as const) app.decorateRequest(property, null as never);

    app.decorate('authenticateTenant', async (request: FastifyRequest, reply: FastifyReply) => {
      const token = bearerToken(request.headers.authorization);
      const claims = token && verifyAccessToken(token);
      if (!claims) throw unauthenticated();
      const tenant = await app.platform.tenants.byId(claims.tid);
      if (!tenant) throw unauthenticated();
      const refusal = refused[tenant.status];
      if (refusal) throw refusal;
      const db = app.platform.router.clientFor(tenant);
      if (!(await app.platform.userStanding.accepts(db, tenant.id, claims))) throw unauthenticated();
      const named = request.headers['x-tenant'];
      if (named !== undefined && named !== tenant.slug && named !== tenant.id) {
        throw new AppError(problems.tenantMismatch, 'X-Tenant names a tenant other than the one in the token');
      }
      const hostSlug = slugFromHost(request.headers.host, app.platform.config.baseDomain);
      if (hostSlug !== undefined && hostSlug !== tenant.slug) {
        throw new AppError(problems.tenantMismatch, 'The host names a tenant other than the one in the token');
      }
      request.claims = claims;
      request.tenant = tenant;
      request.db = db;
      request.log = reply.log = request.log.child({ tenantId: tenant.id });
    });
  },
  { name: 'strata-tenant-auth', dependencies: ['strata-platform'] },
);

export function assertPermission(role: AccessClaims['role'], action: Action): void {
  if (!can(role, action)) throw new AppError(problems.forbidden, `The ${role} role may not ${action.replace('.', ': ')}`);
}

export function requirePermission(action: Action) {
  return async (request: FastifyRequest) => assertPermission(request.claims.role, action);
}

/** Giving a record to anyone but yourself is reassignment: it needs crm.assign. */
export function assertMayAssign(request: FastifyRequest, ...userIds: (string | null | undefined)[]) {
  if (userIds.some((id) => id && id !== request.claims.sub)) return requirePermission('crm.assign')(request);
}
