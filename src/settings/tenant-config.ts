/**
 * Per-tenant config (catalog `tenants.config`): overrides on the plan, validated on every admin
 * write, changed by JSON Merge Patch.
 */
import { z } from 'zod';
import type { Tenant } from '../catalog/catalog-client.js';
import { type Feature, featureNames, planDefinition, requestsPerMinute } from '../plans/plan-limits.js';
import { featuresOutput, limitsOutput } from '../plans/plan-schemas.js';
import type { TenantGuards } from '../router/tenant-guards.js';

const colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #1a2b3c');
const limit = z.number().int().positive().max(1_000_000_000);
/** "unlimited" lifts a plan limit; null cannot (a merge patch removes the member). */
const liftableLimit = limit.or(z.literal('unlimited'));

export const tenantConfig = z
  .object({
    features: z
      .object(Object.fromEntries(featureNames.map((f) => [f, z.boolean().optional()])) as Record<Feature, z.ZodOptional<z.ZodBoolean>>)
      .strict()
      .optional(),
    branding: z
      .object({
        displayName: z.string().trim().min(1).max(100).optional(),
        primaryColor: colour.optional(),
        accentColor: colour.optional(),
        logoUrl: z
          .url({ protocol: /^https$/ })
          .max(2000)
          .optional(),
        customDomain: z
          .string()
          .max(253)
          .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a lowercase host name like crm.example.com')
          .optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        users: liftableLimit.optional(),
        leads: liftableLimit.optional(),
        requestsPerMinute: limit.optional(),
        storageMb: liftableLimit.optional(),
        // PostgreSQL's statement_timeout takes at most 2^31 − 1 ms.
        statementTimeoutMs: z.number().int().positive().max(2_147_483_647).or(z.literal('unlimited')).optional(),
        maxConcurrentStatements: z.number().int().positive().max(1_000).or(z.literal('unlimited')).optional(),
        dbTimeMsPerSecond: z.number().int().positive().max(1_000_000).or(z.literal('unlimited')).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type TenantConfig = z.infer<typeof tenantConfig>;

export const settingsOutput = z.object({
  plan: z.string(),
  features: featuresOutput,
  branding: tenantConfig.shape.branding.unwrap(),
  limits: limitsOutput,
});
export type TenantSettings = z.infer<typeof settingsOutput>;

// Keyed by the catalog row, which the directory replaces on change: parsed once, not per request.
const computed = new WeakMap<Tenant, TenantSettings>();

/** `planOverrides`: STRATA_RATE_LIMIT_PLANS. */
export function tenantSettings(tenant: Tenant, planOverrides: Readonly<Record<string, number>> = {}): TenantSettings {
  const cached = computed.get(tenant);
  if (cached) return cached;
  const plan = planDefinition(tenant.plan);
  // Writes are validated; a bad document (edited by hand) counts as empty.
  const config = tenantConfig.safeParse(tenant.config).data ?? {};
  const settings: TenantSettings = {
    plan: tenant.plan,
    features: { ...plan.features, ...definedOnly(config.features ?? {}) },
    branding: config.branding ?? {},
    limits: {
      ...plan.limits,
      requestsPerMinute: requestsPerMinute(tenant.plan, planOverrides),
      ...Object.fromEntries(Object.entries(definedOnly(config.limits ?? {})).map(([k, v]) => [k, v === 'unlimited' ? null : v])),
    },
  };
  computed.set(tenant, settings);
  return settings;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON Merge Patch, RFC 7396. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const merged: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = mergePatch(merged[key], value);
  }
  return merged;
}

function patchOf(schema: z.ZodType): z.ZodType {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
  if (!(inner instanceof z.ZodObject)) return inner;
  const shape = Object.entries(inner.shape as Record<string, z.ZodType>).map(([key, member]) => [key, patchOf(member).nullable().optional()]);
  return z.object(Object.fromEntries(shape)).strict();
}

/** Shape only: the merged document is checked against `tenantConfig`. */
export const tenantConfigPatch = (patchOf(tenantConfig) as z.ZodType<JsonObject>).describe(
  "A JSON Merge Patch (RFC 7396) of the tenant's config: members left out stay as they are, null removes one, objects merge member by member.",
);

export function tenantGuards(tenant: Tenant, planOverrides: Readonly<Record<string, number>> = {}): TenantGuards {
  const { statementTimeoutMs, maxConcurrentStatements, dbTimeMsPerSecond } = tenantSettings(tenant, planOverrides).limits;
  return { statementTimeoutMs, maxConcurrentStatements, dbTimeMsPerSecond };
}
