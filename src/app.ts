/** Builds the Strata API; never listens (server.ts does), so tests build it too. */
import Fastify, { type FastifyServerOptions } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { adminAuditRoutes } from './admin/admin-audit-routes.js';
import { adminAuthPlugin } from './admin/admin-auth.js';
import { adminAuthRoutes } from './admin/admin-auth-routes.js';
import { tenantAdminRoutes } from './admin/tenant-admin-routes.js';
import { adminTenantAuditRoutes, tenantAuditRoutes } from './audit/audit-routes.js';
import { authRoutes, meRoutes } from './auth/auth-routes.js';
import { loginThrottlePlugin } from './auth/login-throttle.js';
import { tenantAuthPlugin } from './auth/tenant-auth.js';
import type { Config } from './config/config.js';
import { activityRoutes } from './crm/activities/activity-routes.js';
import { dealRoutes } from './crm/deals/deal-routes.js';
import { leadRoutes } from './crm/leads/lead-routes.js';
import { metricsPlugin, metricsRoutes } from './metrics/metrics-plugin.js';
import { moveRoutes } from './moves/move-routes.js';
import { planRoutes } from './plans/plan-routes.js';
import { serverRoutes } from './servers/server-routes.js';
import { settingsRoutes } from './settings/settings-routes.js';
import { usagePlugin } from './usage/usage-plugin.js';
import { usageRoutes } from './usage/usage-routes.js';
import { autopilotPlugin } from './recommendations/autopilot-plugin.js';
import { recommendationRoutes } from './recommendations/recommendation-routes.js';
import { docsPlugin } from './docs/docs-plugin.js';
import { reportRoutes } from './fleet/report-routes.js';
import { overviewRoutes } from './fleet/overview-routes.js';
import { migrationRoutes } from './migrations/migration-routes.js';
import { consoleRoutes } from './console/console-routes.js';
import { healthRoutes } from './health/health-routes.js';
import { drainPlugin } from './http/drain.js';
import { installErrorHandling, renderClientError, renderFrameworkError } from './http/error-handler.js';
import { rateLimitPlugin } from './http/rate-limit.js';
import { routeGroup } from './http/route-groups.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { responseSerializerCompiler } from './http/response-serializer.js';
import { validatorCompiler } from './http/schema-parts.js';
import { startPlatform, type Platform } from './platform/platform.js';
import { platformPlugin } from './platform/platform-plugin.js';
import { rebalanceRoutes } from './rebalance/rebalance-routes.js';
import { transferRoutes } from './transfer/transfer-routes.js';
import { userRoutes } from './users/user-routes.js';

export interface AppOptions {
  config: Config;
  /** Absent: started here and closed with the app. */
  platform?: Platform;
  logger?: FastifyServerOptions['loggerInstance'];
}

export async function buildApp({ config, platform, logger }: AppOptions) {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 256 * 1024,
    // Our ids (uuid) are validated by the schemas; anything longer is noise.
    routerOptions: { maxParamLength: 100 },
    requestIdHeader: false,
    // Behind a load balancer, request.ip (and so the anonymous rate limit) must be the client's.
    trustProxy: config.http.trustedProxies ?? false,
    frameworkErrors: (error, _request, reply) => renderFrameworkError(error, reply),
    clientErrorHandler: renderClientError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(responseSerializerCompiler);
  installErrorHandling(app);
  installSecurityHeaders(app);
  await app.register(drainPlugin);

  const owned = !platform;
  await app.register(platformPlugin, { platform: platform ?? (await startPlatform(config, app.log)), owned });
  await app.register(tenantAuthPlugin);
  await app.register(adminAuthPlugin);
  await app.register(usagePlugin);
  await app.register(metricsPlugin);
  // The limiters and the docs see only the routes registered after them.
  await app.register(rateLimitPlugin, { config });
  await app.register(loginThrottlePlugin, { config });
  await app.register(docsPlugin);
  // Each group authenticates its routes (route-groups.ts); route files add no auth hook.
  await app.register(routeGroup('public', [healthRoutes, metricsRoutes, authRoutes, adminAuthRoutes, consoleRoutes]));
  await app.register(routeGroup('tenant', [meRoutes, userRoutes, leadRoutes, dealRoutes, activityRoutes, settingsRoutes, tenantAuditRoutes]));
  await app.register(
    routeGroup('admin', [
      adminAuditRoutes,
      moveRoutes,
      tenantAdminRoutes,
      serverRoutes,
      rebalanceRoutes,
      planRoutes,
      adminTenantAuditRoutes,
      transferRoutes,
      reportRoutes,
      overviewRoutes,
      migrationRoutes,
      usageRoutes,
      recommendationRoutes,
    ]),
  );
  await app.register(autopilotPlugin, { config });
  return app;
}
