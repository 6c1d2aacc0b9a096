/** SQL without Prisma for hot read paths, routed like Prisma's statements. */
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

/** Busy, not down: no connection within STRATA_CONNECTION_WAIT_MS. */
export class TenantPoolBusyError extends Error {
  constructor(cause: unknown) {
    super("The tenant database's connections are all busy", { cause });
    this.name = 'TenantPoolBusyError';
  }
}

export function poolBusy(err: unknown): boolean {
  return err instanceof Error && err.message === 'timeout exceeded when trying to connect';
}

// Prisma's P1001/P1003/P1017 (src/http/database-problems.ts) as pg reports them.
const unreachableStates = /^(08|57P0[1-3]|3D000)/;

export function databaseUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return unreachableStates.test(code) || code.startsWith('E');
  return err instanceof Error && /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable/.test(err.message);
}

/** The pg error under a Prisma error. */
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

/** A select list under Prisma names, from snake_case columns (test/crm/lead-reads.test.ts). */
export function selectList(fields: Record<string, string>): string {
  return Object.values(fields)
    .map((field) => (snakeCase(field) === field ? `"${field}"` : `"${snakeCase(field)}" AS "${field}"`))
    .join(', ');
}
