/** Request and response shapes of /admin/tenants. */
import { z } from 'zod';
import { pageOf, pageQuery, text } from '../http/schema-parts.js';
import { planNames } from '../plans/plan-limits.js';
import { settingsOutput, tenantConfig, tenantConfigPatch } from '../settings/tenant-config.js';
import { slugSchema, tiers } from '../tenants/placement.js';

const statuses = ['provisioning', 'active', 'suspended', 'moving', 'deleted'] as const;
const tenantName = text().min(1).max(200);

export const tenantParams = z.object({ id: z.uuid() });

export const tenantCreate = z
  .object({
    slug: slugSchema,
    name: tenantName,
    plan: z.enum(planNames),
    /** Default: the plan's tier. */
    tier: z.enum(tiers).optional(),
    /** A server's catalog name (active, under its caps); default: the one with most room. */
    server: z.string().min(1).max(100).optional(),
    config: tenantConfig.optional(),
    owner: z.object({ email: z.email().max(320), name: text().min(1).max(200) }).strict(),
  })
  .strict();

export const tenantPatch = z
  .object({ name: tenantName.optional(), plan: z.enum(planNames).optional(), config: tenantConfigPatch.optional() })
  .strict()
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), 'name at least one of name, plan, config');

export const tenantSuspend = z.object({ reason: text().min(1).max(500) }).strict();

export const tenantListQuery = z
  .object({
    ...pageQuery,
    status: z.enum(statuses).optional(),
    tier: z.enum(tiers).optional(),
    plan: z.string().max(50).optional(),
    /** Part of the slug or name, any case. */
    search: text().min(1).max(100).optional(),
    server: z.string().min(1).max(100).optional(),
    /** Newest first (default), or by slug A→Z. */
    sort: z.enum(['created', 'slug']).default('created'),
  })
  .strict();

export const tenantOutput = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  plan: z.string(),
  tier: z.enum(tiers),
  status: z.enum(statuses),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const tenantPage = pageOf(tenantOutput);

export const tenantDetail = tenantOutput.extend({
  placement: z.object({ server: z.string(), host: z.string(), port: z.number().int(), schema: z.string(), database: z.string() }),
  config: z.record(z.string(), z.unknown()),
  settings: settingsOutput,
  suspension: z.object({ reason: z.string(), at: z.string() }).nullable(),
  usage: z.object({
    requests: z.object({ today: z.number().int(), last30Days: z.number().int() }),
    rows: z.record(z.string(), z.number().int()),
    storageBytes: z.number().int().nullable(),
  }),
});

export const tenantCreated = z.object({
  tenant: tenantOutput,
  /** The owner's generated password is in this answer only. */
  owner: z.object({ id: z.uuid(), email: z.string(), password: z.string() }),
});

export const tenantPurged = z.object({
  purged: z.uuid(),
  archive: z.string(),
  rows: z.number().int(),
});
