/** Plans, in code with the features they gate. An unknown plan gets the free one, never more. */
import type { Tier } from '../tenants/placement.js';
import type { PlanLimits } from './plan-schemas.js';

export const featureNames = ['deals', 'activities', 'auditLog'] as const;
export type Feature = (typeof featureNames)[number];

export interface PlanDefinition {
  defaultTier: Tier;
  limits: PlanLimits;
  features: Record<Feature, boolean>;
}

export const plans = {
  free: {
    defaultTier: 'pooled',
    limits: { requestsPerMinute: 120, users: 10, leads: 1_000, storageMb: 100, statementTimeoutMs: 5_000, maxConcurrentStatements: 3, dbTimeMsPerSecond: null },
    features: { deals: true, activities: true, auditLog: false },
  },
  starter: {
    defaultTier: 'pooled',
    limits: {
      requestsPerMinute: 600,
      users: 50,
      leads: 25_000,
      storageMb: 1_024,
      statementTimeoutMs: 10_000,
      maxConcurrentStatements: 4,
      dbTimeMsPerSecond: null,
    },
    features: { deals: true, activities: true, auditLog: true },
  },
  business: {
    defaultTier: 'schema',
    limits: {
      requestsPerMinute: 3000,
      users: 500,
      leads: 500_000,
      storageMb: 20_480,
      statementTimeoutMs: 30_000,
      maxConcurrentStatements: 6,
      dbTimeMsPerSecond: null,
    },
    features: { deals: true, activities: true, auditLog: true },
  },
  enterprise: {
    defaultTier: 'dedicated',
    limits: {
      requestsPerMinute: 12000,
      users: null,
      leads: null,
      storageMb: null,
      statementTimeoutMs: 60_000,
      maxConcurrentStatements: null,
      dbTimeMsPerSecond: null,
    },
    features: { deals: true, activities: true, auditLog: true },
  },
} as const satisfies Record<string, PlanDefinition>;

export type Plan = keyof typeof plans;
export const planNames = Object.keys(plans) as Plan[];

export const fallbackPlan: Plan = 'free';

export const isPlan = (plan: string): plan is Plan => Object.hasOwn(plans, plan);

export function planDefinition(plan: string): PlanDefinition {
  // hasOwn: "constructor" is no plan.
  return isPlan(plan) ? plans[plan] : plans[fallbackPlan];
}

/** `overrides`: STRATA_RATE_LIMIT_PLANS. */
export function requestsPerMinute(plan: string, overrides: Readonly<Record<string, number>> = {}): number {
  if (Object.hasOwn(overrides, plan)) return overrides[plan]!;
  if (isPlan(plan)) return plans[plan].limits.requestsPerMinute;
  return requestsPerMinute(fallbackPlan, overrides);
}
