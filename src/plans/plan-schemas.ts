/** Response shapes of a plan's limits and features, shared by /admin/plans, /settings and /admin/tenants. */
import { z } from 'zod';
import { featureNames } from './plan-limits.js';

const nullableLimit = z.number().int().nullable();

export const limitsOutput = z.object({
  requestsPerMinute: z.number().int(),
  users: nullableLimit,
  leads: nullableLimit,
  storageMb: nullableLimit,
  statementTimeoutMs: nullableLimit,
  maxConcurrentStatements: nullableLimit,
});
export const featuresOutput = z.object(Object.fromEntries(featureNames.map((f) => [f, z.boolean()])));
