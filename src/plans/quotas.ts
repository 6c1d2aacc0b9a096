/**
 * Plan limits on how many records a tenant may hold, checked inside the creating transaction.
 * Concurrent creators of the same kind for one tenant take turns on a transaction-scoped advisory
 * lock before counting, so two requests racing for the last slot cannot both get it (on every
 * tier: the lock key is the tenant's id, unique across databases too).
 */
import type { TenantClient } from '../router/tenant-router.js';
import { AppError, problems } from '../http/problems.js';

/** What counts against each limit: deactivated users free their slot (reactivating takes one again). */
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

/**
 * Throws QuotaExceededError when the tenant already has `limit` records (null: no limit).
 * Call inside the transaction that creates (or reactivates) the record.
 */
export async function assertBelowLimit(tx: QueryRunner, resource: QuotaResource, limit: number | null | undefined) {
  if (limit === null || limit === undefined) return;
  await tx.$queryRawUnsafe(`SELECT 1 FROM pg_advisory_xact_lock(hashtextextended(current_setting('app.tenant_id') || $1, 0))`, `:quota:${resource}`);
  // A statement of its own, after the lock: under READ COMMITTED it sees what the previous holder
  // committed (a count in the locking statement would use a snapshot taken before the wait).
  // Unqualified table: the transaction's search path is the tenant's schema.
  const [row] = await tx.$queryRawUnsafe<{ n: number }[]>(counted[resource]);
  if (row!.n >= limit) throw new QuotaExceededError(resource, limit);
}
