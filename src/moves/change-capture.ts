/**
 * A move's change capture and write fence in the source DB (docs/moves.md#how-a-move-works): the
 * `guard()` trigger logs a moving tenant's keys and, once fenced (kept after the flip), raises
 * SMV01 (503) on every instance, stale caches included. Triggers stay inert after a move (a drop locks
 * shared tables ACCESS EXCLUSIVE); READ COMMITTED writers see `moving` as of after the barrier.
 */
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import type { TenantTable } from '../transfer/tenant-tables.js';

export const captureSchema = 'strata_moves';
export const fencedSqlState = 'SMV01';
const triggerName = 'strata_move_guard';

/** Short: writers queue behind a waiting lock, which on pooled tables stalls every tenant. */
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
 * Runs `fn` with the tenant tables locked against writes: a write either finished before (in any
 * later snapshot) or sees what `fn` committed. Backs off on a lock timeout rather than queue.
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

/** Idempotent. */
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

/** Pauses the tenant's writes: on return, writes in flight have committed (logged) or failed. */
export async function fenceWrites(client: pg.ClientBase, schema: string, tables: TenantTable[], tenantId: string): Promise<void> {
  await underWriteBarrier(client, schema, tables, async () => {
    const { rowCount } = await client.query(`UPDATE ${captureSchema}.moving SET fenced = true WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
    if (rowCount !== 1) throw new Error(`no change capture for tenant ${tenantId} in ${schema}: cannot fence it`);
  });
}

/** Stops capture, lifts the fence and forgets the log; harmless when capture never started. */
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

/** stopCapture under the write barrier (a rollback): no write in flight leaves log rows behind. */
export async function liftCapture(client: pg.ClientBase, schema: string, tables: TenantTable[], tenantId: string): Promise<void> {
  const exists = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [captureSchema]);
  if (!exists.rowCount) return;
  await underWriteBarrier(client, schema, tables, async () => {
    await client.query(`DELETE FROM ${captureSchema}.changes WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
    await client.query(`DELETE FROM ${captureSchema}.moving WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
  });
}

/**
 * Runs `clear` in the caller's transaction with the fence lifted for it alone, and leaves the
 * location fenced for good: a router with a stale entry can never write there (pooled tables).
 */
export async function clearUnderFence(client: pg.ClientBase, schema: string, tenantId: string, clear: () => Promise<void>): Promise<void> {
  await client.query(ensureSql);
  await client.query(`DELETE FROM ${captureSchema}.moving WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
  await clear();
  await client.query(`INSERT INTO ${captureSchema}.moving (tenant_id, schema_name, fenced) VALUES ($1, $2, true)`, [tenantId, schema]);
  await client.query(`DELETE FROM ${captureSchema}.changes WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, schema]);
}

/** For tests and status. */
export async function isFenced(client: pg.ClientBase, schema: string, tenantId: string): Promise<boolean> {
  const exists = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [captureSchema]);
  if (!exists.rowCount) return false;
  const { rows } = await client.query<{ fenced: boolean }>(`SELECT fenced FROM ${captureSchema}.moving WHERE tenant_id = $1 AND schema_name = $2`, [
    tenantId,
    schema,
  ]);
  return rows[0]?.fenced ?? false;
}

/** The fence refusing a write: a pg error, or wrapped by Prisma, whose adapter keeps the code. */
export function isFencedWrite(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  if (code(err) === fencedSqlState) return true;
  const meta = (err as { meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } } }).meta;
  const cause = meta?.driverAdapterError?.cause;
  return meta?.code === fencedSqlState || cause?.originalCode === fencedSqlState || cause?.code === fencedSqlState;
}
