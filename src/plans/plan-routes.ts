/** GET /admin/plans, as enforced (with STRATA_RATE_LIMIT_PLANS). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { tiers } from '../tenants/placement.js';
import { planNames, plans, requestsPerMinute } from './plan-limits.js';
import { featuresOutput, limitsOutput } from './plan-schemas.js';

const planList = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      defaultTier: z.enum(tiers),
      limits: limitsOutput,
      features: featuresOutput,
    }),
  ),
});

export const planRoutes: FastifyPluginAsyncZod = async (app) => {
  const overrides = app.platform.config.rateLimit.planOverrides;

  app.get('/admin/plans', { schema: { response: { 200: planList } } }, async () => ({
    items: planNames.map((name) => ({ name, ...plans[name], limits: { ...plans[name].limits, requestsPerMinute: requestsPerMinute(name, overrides) } })),
  }));
};
