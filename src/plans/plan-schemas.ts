/** Plans as the API shows them. */
import { z } from 'zod';
import { type Feature, featureNames } from './plan-limits.js';

// null: no limit.
const nullableLimit = z.number().int().nullable();

export const limitsOutput = z.object({
  /** Per tenant. */
  requestsPerMinute: z.number().int(),
  users: nullableLimit,
  leads: nullableLimit,
  /** MiB; not enforced. */
  storageMb: nullableLimit,
  /** null: the database default. */
  statementTimeoutMs: nullableLimit,
  maxConcurrentStatements: nullableLimit,
  /** Statement time per second on a shared pool, sustained. */
  dbTimeMsPerSecond: nullableLimit,
});
export type PlanLimits = z.infer<typeof limitsOutput>;

export const featuresOutput = z.object(Object.fromEntries(featureNames.map((f) => [f, z.boolean()])) as Record<Feature, z.ZodBoolean>);
