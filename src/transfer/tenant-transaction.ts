/**
 * The transaction every transfer step runs in. Owner connections bypass row security, so every
 * statement names the tenant. The settings make COPY text and checksums identical across servers.
 */
import type pg from 'pg';
import { uuidPattern } from '../tenants/placement.js';

export interface TenantTransactionOptions {
  isolation?: 'read committed' | 'repeatable read';
  readOnly?: boolean;
}

const settings = {
  // JIT costs bulk statements more than it saves.
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
 * Transfer steps call this first: outside `inTenantTransaction` for this tenant, written rows would
 * get no tenant_id and output would depend on the server's settings.
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
