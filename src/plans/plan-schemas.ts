/** Shapes of a plan's limits and features, shared by /admin/plans, /settings and /admin/tenants. */
import { z } from 'zod';
import { type Feature, featureNames } from './plan-limits.js';

const nullableLimit = z.number().int().nullable();

export const limitsOutput = z.object({
  /** Requests per minute, for the whole tenant (all its users together). */
  requestsPerMinute: z.number().int(),
  /** Users (active or not; null: no limit). */
  users: nullableLimit,
  leads: nullableLimit,
  /** Storage in MiB, shown against usage (not enforced on writes). */
  storageMb: nullableLimit,
  /** Longest one statement may run, ms (null: the database's default); see src/router/tenant-guards.ts. */
  statementTimeoutMs: nullableLimit,
  /** Most statements at once on a database server's pool shared with other tenants (null: no cap). */
  maxConcurrentStatements: nullableLimit,
});
export type PlanLimits = z.infer<typeof limitsOutput>;

export const featuresOutput = z.object(Object.fromEntries(featureNames.map((f) => [f, z.boolean()])) as Record<Feature, z.ZodBoolean>);
