/**
 * SQL without Prisma, for hot read paths (`npm run bench -- router-reads`). Statements go through the
 * routing pool like Prisma's: tenant context set, RLS enforced, the tenant's schema the search path.
 */
import type { TenantBinding } from './tenant-context.js';
import type { TenantRoutingPool } from './tenant-routing-pool.js';

export interface TenantSql {
  /** `genericPlan`: a unique-key lookup, whose plan fits any values. */
  $rows<T>(text: string, values?: unknown[], options?: { genericPlan?: boolean }): Promise<T[]>;
}

/** An outage, not a bug. */
export class TenantDatabaseUnreachableError extends Error {
  constructor(cause: unknown) {
    super('The tenant database could not be reached', { cause });
    this.name = 'TenantDatabaseUnreachableError';
  }
}

/** No connection came free within STRATA_CONNECTION_WAIT_MS: busy, not down. */
export class TenantPoolBusyError extends Error {
  constructor(cause: unknown) {
    super("The tenant database's connections are all busy", { cause });
    this.name = 'TenantPoolBusyError';
  }
}

/** pg-pool's error for a statement that waited out the connection timeout. */
export function poolBusy(err: unknown): boolean {
  return err instanceof Error && err.message === 'timeout exceeded when trying to connect';
}

// Prisma's P1001/P1003/P1017 (src/http/database-problems.ts) seen from pg: these SQLSTATEs, Node's
// socket errors (E…), and pg's messages for a dropped or timed-out connection.
const unreachableStates = /^(08|57P0[1-3]|3D000)/;

export function databaseUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return unreachableStates.test(code) || code.startsWith('E');
  return err instanceof Error && /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable/.test(err.message);
}

/** The pg error under a Prisma error: in meta.driverAdapterError, or a DriverAdapterError's cause. */
export function driverCause(err: unknown): unknown {
  const e = err as { name?: unknown; cause?: unknown; meta?: { driverAdapterError?: { cause?: unknown } } } | undefined;
  return e?.meta?.driverAdapterError?.cause ?? (e?.name === 'DriverAdapterError' ? e.cause : undefined);
}

export function tenantSql(pool: TenantRoutingPool, binding: TenantBinding): TenantSql {
  return {
    async $rows<T>(text: string, values: unknown[] = [], options: { genericPlan?: boolean } = {}) {
      try {
        return (await pool.queryFor(binding, { text, values }, options.genericPlan)).rows as T[];
      } catch (err) {
        if (poolBusy(err)) throw new TenantPoolBusyError(err);
        throw databaseUnreachable(err) ? new TenantDatabaseUnreachableError(err) : err;
      }
    },
  };
}

const snakeCase = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A select list of a `Prisma.<Model>ScalarFieldEnum`'s fields under their Prisma names (columns are
 * snake_case, as every @map here). test/crm/lead-reads.test.ts checks the rows equal Prisma's.
 */
export function selectList(fields: Record<string, string>): string {
  return Object.values(fields)
    .map((field) => (snakeCase(field) === field ? `"${field}"` : `"${snakeCase(field)}" AS "${field}"`))
    .join(', ');
}
