/** Plan limits on record counts. Creators serialize on an advisory lock: one gets the last slot. */
import type { TenantClient } from '../router/tenant-router.js';
import { AppError, problems } from '../http/problems.js';

const counted = {
  users: `SELECT count(*)::int AS n FROM users WHERE status = 'active'`,
  leads: `SELECT count(*)::int AS n FROM leads`,
} as const;
export type QuotaResource = keyof typeof counted;

export class QuotaExceededError extends AppError {
  constructor(
    readonly resource: QuotaResource,
    readonly limit: number,
  ) {
    super(problems.quotaExceeded, `The tenant's plan allows ${limit} ${resource}; remove some or change the plan`, undefined, { resource, limit });
    this.name = 'QuotaExceededError';
  }
}

type QueryRunner = Pick<TenantClient, '$queryRawUnsafe'>;

/** In the creating (or reactivating) transaction. */
export async function assertBelowLimit(tx: QueryRunner, resource: QuotaResource, limit: number | null | undefined) {
  if (limit === null || limit === undefined) return;
  await tx.$queryRawUnsafe(`SELECT 1 FROM pg_advisory_xact_lock(hashtextextended(current_setting('app.tenant_id') || $1, 0))`, `:quota:${resource}`);
  // Counted after the lock: under READ COMMITTED a new statement sees the previous holder's commit.
  // Unqualified: the search path is the tenant's schema.
  const [row] = await tx.$queryRawUnsafe<{ n: number }[]>(counted[resource]);
  if (row!.n >= limit) throw new QuotaExceededError(resource, limit);
}
