/**
 * The transaction every transfer step runs in: on an owner connection (which bypasses row security,
 * so every statement also names the tenant; tenant_id defaults to the one named here), with the session settings that
 * make text output identical on every server, because COPY text and checksums are compared across
 * servers that may be configured differently.
 */
import type pg from 'pg';
import { uuidPattern } from '../tenants/placement.js';

export interface TenantTransactionOptions {
  /** `repeatable read` gives one snapshot for every table (export, verify); default `read committed`. */
  isolation?: 'read committed' | 'repeatable read';
  readOnly?: boolean;
}

const settings = {
  // Bulk statements cost enough to trigger JIT compilation, which takes longer than it saves here.
  jit: 'off',
  TimeZone: 'UTC',
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
} as const;

function checkTenantId(tenantId: string) {
  if (!uuidPattern.test(tenantId)) throw new Error(`Refusing a malformed tenant id ${JSON.stringify(tenantId)}`);
}

/**
 * Runs `fn` in a transaction bound to `tenantId` (transaction-local `app.tenant_id`), committing
 * when it resolves and rolling back when it throws.
 */
export async function inTenantTransaction<T>(
  client: pg.ClientBase,
  tenantId: string,
  fn: () => Promise<T>,
  options: TenantTransactionOptions = {},
): Promise<T> {
  checkTenantId(tenantId);
  await client.query(
    `BEGIN ISOLATION LEVEL ${options.isolation === 'repeatable read' ? 'REPEATABLE READ' : 'READ COMMITTED'}${options.readOnly ? ' READ ONLY' : ''}`,
  );
  try {
    await client.query(
      `SELECT set_config('app.tenant_id', $1, true), ${Object.keys(settings)
        .map((name, i) => `set_config('${name}', $${i + 2}, true)`)
        .join(', ')}`,
      [tenantId, ...Object.values(settings)],
    );
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined); // a broken connection has rolled back already
    throw err;
  }
}

/**
 * Transfer steps call this first: outside `inTenantTransaction` for the same tenant, rows written
 * would get no tenant_id (its default is the context) and output would depend on the server's settings.
 */
export async function assertTenantTransaction(client: pg.ClientBase, tenantId: string): Promise<void> {
  checkTenantId(tenantId);
  const { rows } = await client.query<{ tenant: string | null; zone: string }>(
    `SELECT current_setting('app.tenant_id', true) AS tenant, current_setting('TimeZone') AS zone`,
  );
  if (rows[0]?.tenant !== tenantId || rows[0]?.zone !== settings.TimeZone) {
    throw new Error(`transfer step for tenant ${tenantId} is not running inside inTenantTransaction for that tenant`);
  }
}
