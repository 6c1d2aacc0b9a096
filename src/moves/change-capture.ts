/**
 * Change capture and the write fence of a tier move, both enforced by the source database itself.
 *
 * Each database that holds a move's source gets a `strata_moves` schema (owner only; the runtime
 * role has no access to it) with:
 * - `moving`: one row per (tenant, location schema) being moved out; `fenced` pauses its writes;
 * - `changes`: the primary keys of the tenant's rows written since capture began;
 * - `guard()`: a BEFORE ROW trigger function on every tenant table of the location. For a tenant
 *   with no `moving` row it returns at once (one index probe); for a moving tenant it logs the
 *   written keys, and once fenced it raises SQLSTATE `SMV01`, which the API answers with 503 and
 *   Retry-After (src/http/database-problems.ts). Reads are never affected.
 *
 * Triggers rather than logical replication: the same on every tier, no superuser, no
 * `wal_level = logical`, no slot pinning WAL if a move stalls, and a change is logged if and only
 * if it commits. The catch-up (catch-up.ts) copies the logged keys' current rows, so the log needs
 * no row images and no ordering.
 *
 * The fence lives in the database, so every instance obeys it at once, even one routing by a stale
 * cache; after the flip the source stays fenced (fail closed) until cleanup. Triggers stay
 * installed (inert) after a move: dropping one locks ACCESS EXCLUSIVE a table other tenants share.
 *
 * Assumes tenant writes run at READ COMMITTED (the router's and Prisma's default): the guard then
 * reads `moving` with a snapshot taken after the installing transaction's table lock was released.
 */
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import type { TenantTable } from '../transfer/tenant-tables.js';

export const captureSchema = 'strata_moves';
export const fencedSqlState = 'SMV01';
const triggerName = 'strata_move_guard';

/**
 * How long the barrier waits for the location's in-flight writes before it backs off and retries.
 * Short, because writers queue behind a waiting lock: on shared pooled tables a long transaction
 * (e.g. another move's bulk load into them) must not stall every pooled tenant's writes.
 */
const barrierLockTimeout = '300ms';
const barrierAttempts = 20;

const ensureSql = `
  SELECT pg_advisory_xact_lock(hashtextextended('strata.moves.capture', 0));
  CREATE SCHEMA IF NOT EXISTS ${captureSchema};
  REVOKE ALL ON SCHEMA ${captureSchema} FROM PUBLIC;
  CREATE TABLE IF NOT EXISTS ${captureSchema}.moving (
    tenant_id uuid NOT NULL,
    schema_name text NOT NULL,
    fenced boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, schema_name));
  CREATE TABLE IF NOT EXISTS ${captureSchema}.changes (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL,
    schema_name text NOT NULL,
    table_name text NOT NULL,
    key jsonb NOT NULL);
  CREATE INDEX IF NOT EXISTS changes_tenant_idx ON ${captureSchema}.changes (tenant_id, schema_name, table_name);
  CREATE OR REPLACE FUNCTION ${captureSchema}.guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $guard$
  DECLARE
    moving_tenant uuid;
    is_fenced boolean;
    old_key jsonb;
    new_key jsonb;
  BEGIN
    IF TG_OP = 'DELETE' THEN moving_tenant := OLD.tenant_id; ELSE moving_tenant := NEW.tenant_id; END IF;
    SELECT m.fenced INTO is_fenced FROM ${captureSchema}.moving m
     WHERE m.tenant_id = moving_tenant AND m.schema_name = TG_TABLE_SCHEMA;
    IF FOUND THEN
      IF is_fenced THEN
        RAISE EXCEPTION 'strata: tenant % is being moved to another tier; writes are paused, retry shortly', moving_tenant
          USING ERRCODE = '${fencedSqlState}';
      END IF;
      -- TG_ARGV names the primary key columns.
      IF TG_OP <> 'INSERT' THEN
        SELECT jsonb_object_agg(k, to_jsonb(OLD) -> k) INTO old_key FROM unnest(TG_ARGV) AS k;
        INSERT INTO ${captureSchema}.changes (tenant_id, schema_name, table_name, key)
          VALUES (moving_tenant, TG_TABLE_SCHEMA, TG_TABLE_NAME, old_key);
      END IF;
      IF TG_OP <> 'DELETE' THEN
        SELECT jsonb_object_agg(k, to_jsonb(NEW) -> k) INTO new_key FROM unnest(TG_ARGV) AS k;
        IF new_key IS DISTINCT FROM old_key THEN
          INSERT INTO ${captureSchema}.changes (tenant_id, schema_name, table_name, key)
            VALUES (moving_tenant, TG_TABLE_SCHEMA, TG_TABLE_NAME, new_key);
        END IF;
      END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END
  $guard$;`;

const code = (err: unknown) => (err as { code?: string }).code;

/**
 * Runs `fn` in a transaction that first takes `mode` locks on the location's tenant tables: the
 * lock waits for every in-flight write transaction there and holds new ones back until commit, so
 * a write either finished before (and is in any snapshot taken afterwards) or sees what `fn`
 * committed. On a lock timeout (a long writer) it backs off and tries again rather than queue.
 */
async function underWriteBarrier(client: pg.ClientBase, schema: string, tables: TenantTable[], fn: () => Promise<void>) {
  const list = tables.map((t) => `${escapeIdentifier(schema)}.${escapeIdentifier(t.name)}`).join(', ');
  for (let attempt = 1; ; attempt++) {
    await client.query(`BEGIN; SET LOCAL lock_timeout = ${escapeLiteral(barrierLockTimeout)}`);
    try {
      await client.query(`LOCK TABLE ${list} IN SHARE ROW EXCLUSIVE MODE`);
      await fn();
      await client.query('COMMIT');
      return;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (code(err) !== '55P03' || attempt >= barrierAttempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * attempt)));
    }
  }
}

/** Starts logging the tenant's writes in the location (idempotent). */
export async function startCapture(client: pg.ClientBase, schema: string, tables: TenantTable[], tenantId: string): Promise<void> {
  await client.query(`BEGIN; ${ensureSql} COMMIT;`).catch(async (err: unknown) => {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  });
  const { rows } = await client.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND g.tgname = $2`,
    [schema, triggerName],
  );
  const guarded = new Set(rows.map((r) => r.table));
  await underWriteBarrier(client, schema, tables, async () => {
    for (const table of tables.filter((t) => !guarded.has(t.name))) {
      const keyArgs = table.primaryKey.map((c) => escapeLiteral(c)).join(', ');
      await client.query(
        `CREATE OR REPLACE TRIGGER ${triggerName} BEFORE INSERT OR UPDATE OR DELETE ON ${escapeIdentifier(schema)}.${escapeIdentifier(table.name)}
           FOR EACH ROW EXECUTE FUNCTION ${captureSchema}.guard(${keyArgs})`,
      );
    }
    await client.query(`INSERT INTO ${captureSchema}.moving (tenant_id, schema_name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [tenantId, schema]);
  });
}

/**
 * Pauses the tenant's writes in the location. When this returns, every write that was in flight
 * has committed (and been logged) or failed; later ones fail with SQLSTATE SMV01.
 */
export async function fenceWrites(client: pg.ClientBase, schema: string, tables: TenantTable[], tenantId: string): Promise<void> {
  await underWriteBarrier(client, schema, tables, async () => {
    const { rowCount } = await client.query(`UPDATE ${captureSchema}.moving SET fenced = true WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
    if (rowCount !== 1) throw new Error(`no change capture for tenant ${tenantId} in ${schema}: cannot fence it`);
  });
}

/** Stops capture and lifts the fence (a rolled-back move); forgets the logged changes. Harmless when capture never started. */
export async function stopCapture(client: pg.ClientBase, schema: string, tenantId: string): Promise<void> {
  const exists = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [captureSchema]);
  if (!exists.rowCount) return;
  await client.query(
    `BEGIN;
     DELETE FROM ${captureSchema}.changes WHERE tenant_id = ${escapeLiteral(tenantId)} AND schema_name = ${escapeLiteral(schema)};
     DELETE FROM ${captureSchema}.moving WHERE tenant_id = ${escapeLiteral(tenantId)} AND schema_name = ${escapeLiteral(schema)};
     COMMIT`,
  );
}

/**
 * Stops capture and lifts the fence under the write barrier (a rolled-back move): a write in
 * flight commits before the log is cleared, so none of its change-log rows outlive the capture.
 */
export async function liftCapture(client: pg.ClientBase, schema: string, tables: TenantTable[], tenantId: string): Promise<void> {
  const exists = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [captureSchema]);
  if (!exists.rowCount) return;
  await underWriteBarrier(client, schema, tables, async () => {
    await client.query(`DELETE FROM ${captureSchema}.changes WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
    await client.query(`DELETE FROM ${captureSchema}.moving WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
  });
}

/**
 * Runs `clear` (which deletes the tenant's rows) inside the caller's transaction with the fence
 * lifted for that transaction alone, and leaves the location fenced for good: other sessions see
 * the fence throughout, so a router with a stale entry can never write there (pooled tables).
 */
export async function clearUnderFence(client: pg.ClientBase, schema: string, tenantId: string, clear: () => Promise<void>): Promise<void> {
  await client.query(ensureSql);
  await client.query(`DELETE FROM ${captureSchema}.moving WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
  await clear();
  await client.query(`INSERT INTO ${captureSchema}.moving (tenant_id, schema_name, fenced) VALUES ($1, $2, true)`, [tenantId, schema]);
  await client.query(`DELETE FROM ${captureSchema}.changes WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
}

/** Whether the tenant's writes in the location are fenced (for tests and status). */
export async function isFenced(client: pg.ClientBase, schema: string, tenantId: string): Promise<boolean> {
  const exists = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [captureSchema]);
  if (!exists.rowCount) return false;
  const { rows } = await client.query<{ fenced: boolean }>(`SELECT fenced FROM ${captureSchema}.moving WHERE tenant_id = $1 AND schema_name = $2`, [
    tenantId,
    schema,
  ]);
  return rows[0]?.fenced ?? false;
}

/**
 * Whether an error is the fence refusing a write: raised by the guard, it reaches the API as a pg
 * error (code SMV01) or wrapped by Prisma, whose driver adapter keeps the original code.
 */
export function isFencedWrite(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  if (code(err) === fencedSqlState) return true;
  const meta = (err as { meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } } }).meta;
  const cause = meta?.driverAdapterError?.cause;
  return meta?.code === fencedSqlState || cause?.originalCode === fencedSqlState || cause?.code === fencedSqlState;
}
