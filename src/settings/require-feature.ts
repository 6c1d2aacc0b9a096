/** A preHandler refusing tenant requests to a feature the tenant's plan or config turned off. */
import type { FastifyRequest } from 'fastify';
import { AppError, problems } from '../http/problems.js';
import type { Feature } from '../plans/plan-limits.js';
import { tenantSettings } from './tenant-config.js';

/** Use after authenticateTenant. Costs no round trip: the settings come from the cached catalog row. */
export function requireFeature(feature: Feature) {
  return async (request: FastifyRequest) => {
    const { features } = tenantSettings(request.tenant, request.server.platform.config.rateLimit.planOverrides);
    if (!features[feature]) throw new AppError(problems.featureDisabled, `The ${feature} feature is not enabled for this tenant`);
  };
}
