/**
 * The per-tenant configuration document (catalog `tenants.config`): feature flags, branding and
 * limit overrides, validated by one zod schema on every admin write. What a tenant gets is its
 * plan's definition with this document's overrides on top (`tenantSettings`).
 */
import { z } from 'zod';
import type { Tenant } from '../catalog/catalog-client.js';
import { type Feature, featureNames, planDefinition, type PlanLimits, requestsPerMinute } from '../plans/plan-limits.js';

const colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #1a2b3c');
const limit = z.number().int().positive().max(1_000_000_000);

export const tenantConfig = z
  .object({
    /** Overrides of the plan's features. */
    features: z.object(Object.fromEntries(featureNames.map((f) => [f, z.boolean().optional()])) as Record<Feature, z.ZodOptional<z.ZodBoolean>>).strict().optional(),
    branding: z
      .object({
        displayName: z.string().trim().min(1).max(100).optional(),
        primaryColor: colour.optional(),
        accentColor: colour.optional(),
        logoUrl: z.url({ protocol: /^https$/ }).max(2000).optional(),
        customDomain: z
          .string()
          .max(253)
          .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a lowercase host name like crm.example.com')
          .optional(),
      })
      .strict()
      .optional(),
    /** Overrides of the plan's limits; null lifts one. */
    limits: z
      .object({ users: limit.nullable().optional(), leads: limit.nullable().optional(), requestsPerMinute: limit.optional(), storageMb: limit.nullable().optional() })
      .strict()
      .optional(),
  })
  .strict();
export type TenantConfig = z.infer<typeof tenantConfig>;

export interface TenantSettings {
  plan: string;
  features: Record<Feature, boolean>;
  branding: NonNullable<TenantConfig['branding']>;
  limits: PlanLimits;
}

// Keyed by the catalog row object: the tenant directory replaces the row when the tenant
// changes, so an entry lives exactly as long as the row it was computed from, and the request
// path parses a tenant's document once, not per request.
const computed = new WeakMap<Tenant, TenantSettings>();

/** The plan's definition with the tenant's overrides; `planOverrides` is STRATA_RATE_LIMIT_PLANS. */
export function tenantSettings(tenant: Tenant, planOverrides: Readonly<Record<string, number>> = {}): TenantSettings {
  const cached = computed.get(tenant);
  if (cached) return cached;
  const plan = planDefinition(tenant.plan);
  // A stored document is valid (writes are validated); a bad one (edited by hand) counts as empty.
  const config = tenantConfig.safeParse(tenant.config).data ?? {};
  const settings: TenantSettings = {
    plan: tenant.plan,
    features: { ...plan.features, ...definedOnly(config.features ?? {}) },
    branding: config.branding ?? {},
    limits: {
      ...plan.limits,
      requestsPerMinute: requestsPerMinute(tenant.plan, planOverrides),
      ...definedOnly(config.limits ?? {}),
    },
  };
  computed.set(tenant, settings);
  return settings;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
