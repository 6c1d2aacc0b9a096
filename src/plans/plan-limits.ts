/**
 * What each plan may do. Today: how many requests per minute a tenant may make, counted for the
 * whole tenant (all its users together). A plan the table does not know gets the free plan's
 * limits, so a typo in the catalog can never grant more than the least.
 */
export const planLimits = {
  free: { requestsPerMinute: 120 },
  starter: { requestsPerMinute: 600 },
  business: { requestsPerMinute: 3000 },
  enterprise: { requestsPerMinute: 12000 },
} as const;

export type Plan = keyof typeof planLimits;

/** The plan whose limits apply to a plan the table does not know. */
export const fallbackPlan: Plan = 'free';

/**
 * Requests per minute for a tenant on `plan`. `overrides` (STRATA_RATE_LIMIT_PLANS) change a
 * plan's limit or add a plan; an unknown plan gets the fallback plan's limit, overridden or not.
 */
export function requestsPerMinute(plan: string, overrides: Readonly<Record<string, number>> = {}): number {
  // Object.hasOwn: plan names come from the catalog and must not reach Object.prototype ("constructor").
  if (Object.hasOwn(overrides, plan)) return overrides[plan]!;
  if (Object.hasOwn(planLimits, plan)) return planLimits[plan as Plan].requestsPerMinute;
  return requestsPerMinute(fallbackPlan, overrides);
}
