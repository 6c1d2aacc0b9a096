/** Refuses a feature the tenant's plan or config turned off. */
import type { FastifyRequest } from 'fastify';
import { AppError, problems } from '../http/problems.js';
import type { Feature } from '../plans/plan-limits.js';
import { tenantSettings } from './tenant-config.js';

/** After authenticateTenant; from the cached catalog row. */
export function requestSettings(request: FastifyRequest) {
  return tenantSettings(request.tenant, request.server.platform.config.rateLimit.planOverrides);
}

export function requireFeature(feature: Feature) {
  return async (request: FastifyRequest) => {
    const { features } = requestSettings(request);
    if (!features[feature]) throw new AppError(problems.featureDisabled, `The ${feature} feature is not enabled for this tenant`);
  };
}
