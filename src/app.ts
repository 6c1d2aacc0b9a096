/**
 * Builds the Strata API as a Fastify instance; never listens (server.ts does). Tests and scripts
 * build from here, optionally around a platform they started themselves.
 */
import Fastify, { type FastifyServerOptions } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { adminAuditRoutes } from './admin/admin-audit-routes.js';
import { adminAuthPlugin } from './admin/admin-auth.js';
import { adminAuthRoutes } from './admin/admin-auth-routes.js';
import { tenantAdminRoutes } from './admin/tenant-admin-routes.js';
import { adminTenantAuditRoutes, tenantAuditRoutes } from './audit/audit-routes.js';
import { authRoutes } from './auth/auth-routes.js';
import { tenantAuthPlugin } from './auth/tenant-auth.js';
import type { Config } from './config/config.js';
import { activityRoutes } from './crm/activities/activity-routes.js';
import { dealRoutes } from './crm/deals/deal-routes.js';
import { leadRoutes } from './crm/leads/lead-routes.js';
import { moveRoutes } from './moves/move-routes.js';
import { planRoutes } from './plans/plan-routes.js';
import { settingsRoutes } from './settings/settings-routes.js';
import { usagePlugin } from './usage/usage-plugin.js';
import { docsPlugin } from './docs/docs-plugin.js';
import { healthRoutes } from './health/health-routes.js';
import { installErrorHandling, renderFrameworkError } from './http/error-handler.js';
import { rateLimitPlugin } from './http/rate-limit.js';
import { responseSerializerCompiler } from './http/response-serializer.js';
import { startPlatform, type Platform } from './platform/platform.js';
import { platformPlugin } from './platform/platform-plugin.js';
import { transferRoutes } from './transfer/transfer-routes.js';
import { userRoutes } from './users/user-routes.js';

export interface AppOptions {
  config: Config;
  /** A running platform to serve; when absent the app starts one and closes it on close. */
  platform?: Platform;
  logger?: FastifyServerOptions['loggerInstance'];
}

export async function buildApp({ config, platform, logger }: AppOptions) {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 256 * 1024,
    // Our own ids (uuid) are validated by the schemas; anything longer is noise.
    routerOptions: { maxParamLength: 100 },
    requestIdHeader: false,
    // Behind a load balancer, request.ip (and so the anonymous rate limit) must be the client's.
    trustProxy: config.http.trustedProxies ?? false,
    frameworkErrors: (error, _request, reply) => renderFrameworkError(error, reply),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(responseSerializerCompiler);
  installErrorHandling(app);

  const owned = !platform;
  await app.register(platformPlugin, { platform: platform ?? (await startPlatform(config, app.log)), owned });
  await app.register(tenantAuthPlugin);
  await app.register(adminAuthPlugin);
  await app.register(usagePlugin);
  // Both see only the routes registered after them: the limiter to guard them, the docs to list them.
  await app.register(rateLimitPlugin, { config });
  await app.register(docsPlugin);
  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(userRoutes);
  await app.register(leadRoutes);
  await app.register(dealRoutes);
  await app.register(activityRoutes);
  await app.register(adminAuthRoutes);
  await app.register(adminAuditRoutes);
  await app.register(moveRoutes);
  await app.register(tenantAdminRoutes);
  await app.register(planRoutes);
  await app.register(settingsRoutes);
  await app.register(tenantAuditRoutes);
  await app.register(adminTenantAuditRoutes);
  await app.register(transferRoutes);
  return app;
}
