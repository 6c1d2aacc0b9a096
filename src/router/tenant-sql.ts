/**
 * SQL without Prisma, for hot read paths. Prisma costs ~0.4 ms of CPU per query on this
 * project's machine, several times the statement itself (`npm run bench -- router-reads`), and
 * most of the gap between the tenant API and a bare route. A statement sent here runs exactly like
 * Prisma's through the routing pool: on the tenant's database, with its context set
 * transaction-locally, RLS enforced. Tables are named unqualified: the tenant's schema is the
 * search path of the statement.
 */
import type { TenantBinding } from './tenant-context.js';
import type { TenantRoutingPool } from './tenant-routing-pool.js';

export interface TenantSql {
  /**
   * Runs one statement for the bound tenant; rows as pg parses them (timestamps as Dates).
   * `genericPlan`: one plan made for any values is as good as one made for these (a lookup by a
   * unique key), so a statement kept prepared may skip planning.
   */
  $rows<T>(text: string, values?: unknown[], options?: { genericPlan?: boolean }): Promise<T[]>;
}

/** The tenant's database could not be reached (down, gone, connection dropped): an outage, not a bug. */
export class TenantDatabaseUnreachableError extends Error {
  constructor(cause: unknown) {
    super('The tenant database could not be reached', { cause });
    this.name = 'TenantDatabaseUnreachableError';
  }
}

/** No connection of the tenant's pool came free within STRATA_CONNECTION_WAIT_MS: busy, not down. */
export class TenantPoolBusyError extends Error {
  constructor(cause: unknown) {
    super("The tenant database's connections are all busy", { cause });
    this.name = 'TenantPoolBusyError';
  }
}

/** True for pg-pool's error when a queued statement waited out the pool's connection timeout. */
export function poolBusy(err: unknown): boolean {
  return err instanceof Error && err.message === 'timeout exceeded when trying to connect';
}

// What Prisma reports as P1001/P1003/P1017 (see src/http/database-problems.ts), seen from pg: the
// SQLSTATEs of a connection failure, a server going away or a missing database, Node's socket
// errors (ECONNREFUSED, ETIMEDOUT…), and pg's own messages for a dropped or timed-out connection.
const unreachableStates = /^(08|57P0[1-3]|3D000)/;

/** True when a pg error (or a pg error found by driverCause) means the database cannot be reached now. */
export function databaseUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return unreachableStates.test(code) || code.startsWith('E');
  return err instanceof Error && /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable/.test(err.message);
}

/**
 * The pg error under one raised through Prisma's pg adapter, if any: Prisma's errors carry it in
 * meta.driverAdapterError (e.g. P2010 for 57P01 "terminating connection due to administrator
 * command"), and some paths throw the adapter's DriverAdapterError itself.
 */
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
 * The select list returning a model's scalar fields under their Prisma names, from the generated
 * `Prisma.<Model>ScalarFieldEnum` (columns are the fields in snake_case, as every @map here).
 * test/crm/lead-reads.test.ts checks that rows read this way equal Prisma's.
 */
export function selectList(fields: Record<string, string>): string {
  return Object.values(fields)
    .map((field) => (snakeCase(field) === field ? `"${field}"` : `"${snakeCase(field)}" AS "${field}"`))
    .join(', ');
}
