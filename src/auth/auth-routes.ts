/**
 * /auth: login (tenant found from the slug, the host, or the login-routing index; the password is
 * checked in the tenant's own tier), refresh-token rotation, logout, and /me.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Tenant } from '../catalog/catalog-client.js';
import { AppError, problems } from '../http/problems.js';
import { slugSchema } from '../tenants/placement.js';
import { findUser } from '../users/user-store.js';
import { normalizeEmail, tenantsForEmail } from './login-index.js';
import { verifyPassword } from './passwords.js';
import { issueRefreshToken, parseRefreshToken, RefreshRejectedError, revokeByToken, rotateRefreshToken } from './refresh-tokens.js';
import { refused, slugFromHost } from './tenant-auth.js';
import type { AccessClaims } from './tokens.js';

const loginBody = z
  .object({
    email: z.email().max(320),
    password: z.string().min(1).max(1024),
    tenant: slugSchema.optional(),
  })
  .strict();
const refreshBody = z.object({ refreshToken: z.string().min(1).max(200) }).strict();
const tokenPair = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
});
const me = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: z.enum(['owner', 'admin', 'manager', 'staff']),
  tenant: z.object({ id: z.uuid(), slug: z.string(), name: z.string() }),
});

const invalidCredentials = () => new AppError(problems.invalidCredentials, 'Email or password is wrong');

function assertServed(tenant: Tenant) {
  const refusal = refused[tenant.status];
  if (refusal) throw refusal;
}

async function signIn(app: FastifyInstance, tenant: Tenant, user: { id: string; role: AccessClaims['role'] }, refreshToken?: string) {
  const db = app.platform.router.clientFor(tenant);
  return {
    accessToken: app.jwt.sign({ sub: user.id, tid: tenant.id, role: user.role, jti: randomUUID() }),
    refreshToken: refreshToken ?? (await issueRefreshToken(db, tenant.id, user.id)),
    tokenType: 'Bearer' as const,
    expiresIn: app.platform.config.jwt.ttlSeconds,
  };
}

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post('/auth/login', { schema: { body: loginBody, response: { 200: tokenPair } } }, async (request) => {
    const email = normalizeEmail(request.body.email);
    const slug = request.body.tenant ?? slugFromHost(request.headers.host, app.platform.config.baseDomain);
    const candidates = slug
      ? await app.platform.catalog.tenant.findMany({ where: { slug, status: { not: 'deleted' } } })
      : await tenantsForEmail(app.platform.catalog, email);

    // Every candidate's password is checked, so the answer reveals tenants only to the right password.
    const matches: { tenant: Tenant; user: { id: string; role: AccessClaims['role'] } }[] = [];
    for (const tenant of candidates) {
      if (tenant.status === 'provisioning') continue;
      const user = await findUser(app.platform.router.clientFor(tenant), { email, status: 'active' });
      if (await verifyPassword(user?.passwordHash, request.body.password)) matches.push({ tenant, user: user! });
    }
    if (candidates.length === 0) await verifyPassword(undefined, request.body.password);
    if (matches.length === 0) throw invalidCredentials();
    if (matches.length > 1) {
      throw new AppError(problems.tenantChoice, 'Repeat the login with one of these tenants', undefined, {
        tenants: matches.map((m) => ({ slug: m.tenant.slug, name: m.tenant.name })),
      });
    }
    const { tenant, user } = matches[0]!;
    assertServed(tenant);
    await app.platform.router.clientFor(tenant).user.updateMany({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
    return signIn(app, tenant, user);
  });

  app.post('/auth/refresh', { schema: { body: refreshBody, response: { 200: tokenPair } } }, async (request) => {
    const rejected = () => new AppError(problems.refreshRejected, 'Log in again');
    const parsed = parseRefreshToken(request.body.refreshToken);
    if (!parsed) throw rejected();
    const tenant = await app.platform.tenants.byId(parsed.tenantId);
    if (!tenant) throw rejected();
    assertServed(tenant);
    const db = app.platform.router.clientFor(tenant);
    try {
      const rotated = await rotateRefreshToken(db, tenant.id, parsed.secret);
      const user = await findUser(db, { id: rotated.userId, status: 'active' });
      if (!user) throw new RefreshRejectedError('revoked');
      return signIn(app, tenant, user, rotated.token);
    } catch (err) {
      if (err instanceof RefreshRejectedError) {
        request.log.info({ reason: err.reason }, 'refresh token rejected');
        throw rejected();
      }
      throw err;
    }
  });

  app.post('/auth/logout', { schema: { body: refreshBody, response: { 204: z.null() } } }, async (request, reply) => {
    // Always 204: logout must not tell whether a token was valid.
    const parsed = parseRefreshToken(request.body.refreshToken);
    const tenant = parsed && (await app.platform.tenants.byId(parsed.tenantId));
    if (parsed && tenant && !refused[tenant.status]) await revokeByToken(app.platform.router.clientFor(tenant), parsed.secret);
    return reply.status(204).send(null);
  });

  app.get('/me', { onRequest: app.authenticateTenant, schema: { response: { 200: me } } }, async (request) => {
    const user = await findUser(request.db, { id: request.claims.sub });
    if (!user) throw new AppError(problems.unauthenticated, 'A valid bearer token is required');
    const { id, slug, name } = request.tenant;
    return { id: user.id, email: user.email, name: user.name, role: user.role, tenant: { id, slug, name } };
  });
};
