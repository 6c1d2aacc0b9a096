/** Plan limits and features as the API shows them. */
import { z } from 'zod';
import { type Feature, featureNames } from './plan-limits.js';

const nullableLimit = z.number().int().nullable();

export const limitsOutput = z.object({
  /** Per tenant, not per user. */
  requestsPerMinute: z.number().int(),
  /** Active users (null: no limit). */
  users: nullableLimit,
  leads: nullableLimit,
  /** MiB; shown against usage, not enforced. */
  storageMb: nullableLimit,
  /** null: the database default; see src/router/tenant-guards.ts. */
  statementTimeoutMs: nullableLimit,
  /** On a pool shared with other tenants (null: no cap). */
  maxConcurrentStatements: nullableLimit,
});
export type PlanLimits = z.infer<typeof limitsOutput>;

export const featuresOutput = z.object(Object.fromEntries(featureNames.map((f) => [f, z.boolean()])) as Record<Feature, z.ZodBoolean>);
