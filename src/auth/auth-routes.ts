/**
 * /auth (public): login, refresh, logout. /me (tenant): the caller.
 * docs/security-model.md#authentication-and-roles
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Tenant } from '../catalog/catalog-client.js';
import type { Config } from '../config/config.js';
import { AppError, problems } from '../http/problems.js';
import type { TenantRouter } from '../router/tenant-router.js';
import { slugSchema } from '../tenants/placement.js';
import { password } from '../users/user-schemas.js';
import { findUser, updateUser } from '../users/user-store.js';
import { platformActor, recordChange } from '../audit/tenant-audit.js';
import { loginDecoy } from './login-decoy.js';
import { loginOrigin } from './login-origin.js';
import { normalizeEmail, tenantsForEmail } from './login-index.js';
import { verifyPassword } from './passwords.js';
import { isCurrentRefreshToken, issueRefreshToken, parseRefreshToken, RefreshRejectedError, revokeByToken, rotateRefreshToken } from './refresh-tokens.js';
import { refused, requirePermission, slugFromHost } from './tenant-auth.js';
import { type AccessClaims, accessTokenSigner, userRoles } from './tokens.js';

const loginBody = z
  .object({
    email: z.email().max(320),
    password: z.string().min(1).max(1024),
    tenant: slugSchema.optional(),
  })
  .strict();
const passwordChange = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: password }).strict();
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
  role: z.enum(userRoles),
  tenant: z.object({ id: z.uuid(), slug: z.string(), name: z.string() }),
});

type SignedInUser = { id: string; role: AccessClaims['role']; version: number };

const invalidCredentials = () => new AppError(problems.invalidCredentials, 'Email or password is wrong');

function assertServed(tenant: Tenant) {
  const refusal = refused[tenant.status];
  if (refusal) throw refusal;
}

function tokenIssuer(deps: { config: Pick<Config, 'jwt'>; router: Pick<TenantRouter, 'clientFor'> }) {
  const signAccessToken = accessTokenSigner(deps.config.jwt);
  return async (tenant: Tenant, user: SignedInUser, refreshToken?: string) => ({
    accessToken: signAccessToken({ sub: user.id, tid: tenant.id, role: user.role, ver: user.version }),
    refreshToken: refreshToken ?? (await issueRefreshToken(deps.router.clientFor(tenant), tenant.id, user.id)),
    tokenType: 'Bearer' as const,
    expiresIn: deps.config.jwt.ttlSeconds,
  });
}

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const signIn = tokenIssuer(app.platform);
  const decoy = loginDecoy(app.platform);
  // Recorded after the answer: waiting would make a registered email's failure slower.
  const failedLogins = new WeakMap<FastifyRequest, { tenant: Tenant; userId: string }[]>();

  app.post('/auth/login', { schema: { body: loginBody, response: { 200: tokenPair } }, onResponse: recordFailedLogins }, async (request) => {
    const email = normalizeEmail(request.body.email);
    const slug = request.body.tenant ?? slugFromHost(request.headers.host, app.platform.config.baseDomain);
    const candidates = slug
      ? await app.platform.catalog.tenant.findMany({ where: { slug, status: { not: 'deleted' } } })
      : await tenantsForEmail(app.platform.catalog, email);

    // Every candidate's password is checked, so only the right password reveals tenants; no candidate
    // costs the same (login-decoy.ts).
    const matches: { tenant: Tenant; user: SignedInUser }[] = [];
    const failures: { tenant: Tenant; userId: string }[] = [];
    for (const tenant of candidates) {
      decoy.named(tenant);
      // A provisioning tenant may have no tables yet.
      const user = tenant.status === 'provisioning' ? null : await findUser(app.platform.router.clientFor(tenant), { email });
      const usable = user?.status === 'active' ? user : undefined;
      if (await verifyPassword(usable?.passwordHash, request.body.password)) matches.push({ tenant, user: usable! });
      else if (user) failures.push({ tenant, userId: user.id });
    }
    if (candidates.length === 0) {
      await decoy.lookUp(email);
      await verifyPassword(undefined, request.body.password);
    }
    if (matches.length === 0) {
      failedLogins.set(request, failures);
      throw invalidCredentials();
    }
    if (matches.length > 1) {
      throw new AppError(problems.tenantChoice, 'Repeat the login with one of these tenants', undefined, {
        tenants: matches.map((m) => ({ slug: m.tenant.slug, name: m.tenant.name })),
      });
    }
    const { tenant, user } = matches[0]!;
    assertServed(tenant);
    await app.platform.router.clientFor(tenant).$transaction(async (tx) => {
      await tx.user.updateMany({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
      await recordChange(tx, { actorId: user.id }, { entity: 'user', entityId: user.id, action: 'login', changes: loginOrigin(request) });
    });
    return signIn(tenant, user);
  });

  async function recordFailedLogins(request: FastifyRequest) {
    for (const { tenant, userId } of failedLogins.get(request) ?? []) {
      const changes = loginOrigin(request);
      await recordChange(app.platform.router.clientFor(tenant), platformActor, { entity: 'user', entityId: userId, action: 'login-failed', changes }).catch(
        (err: unknown) => request.log.error({ err, tenantId: tenant.id }, 'failed login not recorded'),
      );
    }
  }

  app.post('/auth/refresh', { schema: { body: refreshBody, response: { 200: tokenPair } } }, async (request) => {
    const rejected = () => new AppError(problems.refreshRejected, 'Log in again');
    const parsed = parseRefreshToken(request.body.refreshToken);
    if (!parsed) throw rejected();
    const tenant = await app.platform.tenants.byId(parsed.tenantId);
    if (!tenant || tenant.status === 'deleted' || tenant.status === 'provisioning') throw rejected();
    const db = app.platform.router.clientFor(tenant);
    // Only a current token's holder learns its tenant is suspended; others get the usual 401.
    if (tenant.status === 'suspended') throw (await isCurrentRefreshToken(db, parsed.secret)) ? refused.suspended! : rejected();
    try {
      const rotated = await rotateRefreshToken(db, tenant.id, parsed.secret);
      const user = await findUser(db, { id: rotated.userId, status: 'active' });
      if (!user) throw new RefreshRejectedError('revoked');
      return signIn(tenant, user, rotated.token);
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
};

export const meRoutes: FastifyPluginAsyncZod = async (app) => {
  const signIn = tokenIssuer(app.platform);

  /** Ends the user's other sessions; the caller gets new tokens. */
  app.post(
    '/me/password',
    { preHandler: requirePermission('users.change-own-password'), schema: { body: passwordChange, response: { 200: tokenPair } } },
    async (request) => {
      const user = await findUser(request.db, { id: request.claims.sub, status: 'active' });
      if (!user) throw new AppError(problems.unauthenticated, 'A valid bearer token is required');
      if (!(await verifyPassword(user.passwordHash, request.body.currentPassword))) {
        throw new AppError(problems.currentPasswordWrong, 'The current password is wrong', [{ field: 'body.currentPassword', message: 'is wrong' }]);
      }
      const context = { db: request.db, catalog: app.platform.catalog, tenantId: request.tenant.id, actorId: user.id, standing: app.platform.userStanding };
      const changed = await updateUser(context, user.id, { password: request.body.newPassword }, user.version);
      return signIn(request.tenant, changed);
    },
  );

  app.get('/me', { schema: { response: { 200: me } } }, async (request) => {
    const user = await findUser(request.db, { id: request.claims.sub });
    if (!user) throw new AppError(problems.unauthenticated, 'A valid bearer token is required');
    const { id, slug, name } = request.tenant;
    return { id: user.id, email: user.email, name: user.name, role: user.role, tenant: { id, slug, name } };
  });
};
