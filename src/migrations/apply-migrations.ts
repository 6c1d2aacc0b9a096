/**
 * A target's pending migrations in one transaction under its advisory lock: a failure leaves the
 * last good version (no-transaction ones excepted). History lives in the target.
 */
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { baselineApplies, type Baseline } from './baseline.js';
import { byName, isTransactional, type MigrationFolder } from './migration-files.js';

export const historyTable = '_strata_migrations';

export const historyOf = (schema: string) => `${escapeIdentifier(schema)}.${escapeIdentifier(historyTable)}`;

/** Oldest first. */
export type History = { name: string; checksum: string }[];

export interface ApplyOptions {
  /** Migration SQL is unqualified. */
  schema: string;
  migrations: MigrationFolder[];
  /** For a target with no history (baseline.ts). */
  baseline?: Baseline;
  /** Granted row access (none for the catalog). */
  runtimeRole?: string;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export interface AppliedMigration {
  name: string;
  durationMs: number;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export async function readHistory(client: pg.ClientBase, schema: string): Promise<History> {
  try {
    const { rows } = await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${historyOf(schema)} ORDER BY name`);
    return rows;
  } catch (err) {
    // A target never migrated has no table (42P01).
    if ((err as { code?: string }).code === '42P01') return [];
    throw err;
  }
}

/** Throws on edited or unknown applied migrations. */
export function pendingFor(applied: History, migrations: MigrationFolder[]) {
  const known = new Map(migrations.map((m) => [m.name, m]));
  for (const row of applied) {
    const file = known.get(row.name);
    if (!file) throw new MigrationError(`target has migration ${row.name}, which this code does not know (target is ahead)`, row.name);
    if (file.checksum !== row.checksum) {
      throw new MigrationError(`migration ${row.name} was changed after it was applied (checksum mismatch)`, row.name);
    }
  }
  const done = new Set(applied.map((r) => r.name));
  // Name order, whatever order the caller passes.
  return migrations.filter((m) => !done.has(m.name)).sort(byName);
}

export async function applyMigrations(client: pg.ClientBase, options: ApplyOptions): Promise<AppliedMigration[]> {
  const applied: AppliedMigration[] = [];
  for (;;) {
    const step = await applyTransactionalRun(client, options);
    applied.push(...step.applied);
    if (!step.blockedBy) return applied;
    applied.push(...(await applyOutsideTransaction(client, options, step.blockedBy)));
  }
}

/** `local` ties the settings to the transaction. */
export function settings(options: Pick<ApplyOptions, 'lockTimeoutMs' | 'statementTimeoutMs'>, schema: string, local: boolean) {
  return `set_config('lock_timeout', ${escapeLiteral(`${options.lockTimeoutMs ?? 10_000}ms`)}, ${local}),
          set_config('statement_timeout', ${escapeLiteral(`${options.statementTimeoutMs ?? 300_000}ms`)}, ${local}),
          set_config('search_path', ${escapeLiteral(schema)}, ${local})`;
}

/**
 * For tenant migrations that change rows: tenant tables force RLS on their owner, so without BYPASSRLS
 * (bootstrap-server.ts grants it) an UPDATE would silently change no row. DDL is not filtered.
 */
export const bypassCheck = (migrations: MigrationFolder[]) => (migrations.some(changesRows) ? bypassCheckSql : '');

/** Data statements, outside comments; `ON DELETE` / `ON UPDATE` of a foreign key are not. */
const changesRows = (m: MigrationFolder) => /(?<!\bON\s+)\b(UPDATE|DELETE)\b|\b(INSERT|MERGE|COPY)\b/i.test(m.sql.replace(/--.*$/gm, ''));

const bypassCheckSql = `DO $check$ BEGIN
  IF NOT (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'role % lacks BYPASSRLS: tenant migrations would not see every row. Start Strata once with a superuser DATABASE_URL (it grants it at boot)', current_user
      USING ERRCODE = '42501';
  END IF;
END $check$;`;

/** No wait for the WAL flush: a crash loses a migration together with its history row. */
export const asynchronousCommit = `set_config('synchronous_commit', 'off', true)`;

/** Serializes work on a schema; claimSpare takes it too. */
export const migrationLockKey = (schema: string) => `hashtextextended(${escapeLiteral(`strata.migrate.${schema}`)}, 0)`;

const lockKey = (options: ApplyOptions) => migrationLockKey(options.schema);

async function applyTransactionalRun(client: pg.ClientBase, options: ApplyOptions, batched = true): Promise<TransactionalRun> {
  const schema = escapeIdentifier(options.schema);
  const table = historyOf(options.schema);
  // Two round trips: one opens, locks and reads; one applies and commits.
  let inBatch = false;
  try {
    const opened = await client.query(
      `BEGIN;
       SELECT ${settings(options, schema, true)}, ${asynchronousCommit}, pg_advisory_xact_lock(${lockKey(options)});
       CREATE TABLE IF NOT EXISTS ${table} (
         name text PRIMARY KEY,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(),
         duration_ms integer NOT NULL);
       SELECT name, checksum FROM ${table} ORDER BY name;
       ${mark}`,
    );
    const history = (results(opened).at(-2)?.rows ?? []) as History;
    const pending = pendingFor(history, options.migrations);
    const stop = pending.findIndex((m) => !isTransactional(m));
    const run = stop === -1 ? pending : pending.slice(0, stop);
    // Set before the first migration, default privileges cover every later table.
    const access = run.length > 0 && history.length === 0 ? runtimeAccess(options, schema, table) : '';
    const check = options.runtimeRole ? bypassCheck(run) : '';
    const applied: AppliedMigration[] = [];
    if (batched && run.length > 0) {
      inBatch = true;
      const steps = baselineApplies(options.baseline, history, run)
        ? [recordedBaseline(options.schema, options.baseline), ...run.slice(options.baseline.covers.length).map((m) => recorded(options.schema, m))]
        : run.map((m) => recorded(options.schema, m));
      // COMMIT rides in the batch: after an error the server skips the rest of it.
      applied.push(...recordedRows(await client.query(`${check}\n${access}\n${steps.join('\n')}\nCOMMIT;`)));
    } else {
      if (check) await client.query(check);
      if (access) await client.query(access);
      for (const migration of run) applied.push(...recordedRows(await runOne(client, migration, recorded(options.schema, migration))));
      await client.query('COMMIT');
    }
    return { applied, blockedBy: pending[run.length] };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    // A batch failure does not name the migration: replay one by one.
    if (inBatch) return applyTransactionalRun(client, options, false);
    throw err;
  }
}

interface TransactionalRun {
  applied: AppliedMigration[];
  blockedBy?: MigrationFolder;
}

/** History rows record the time since the previous mark. */
export const mark = `SELECT set_config('strata.mark', clock_timestamp()::text, true);`;

export function recorded(schema: string, migration: MigrationFolder): string {
  return `${migration.sql}
;
INSERT INTO ${historyOf(schema)} (name, checksum, duration_ms)
  SELECT ${escapeLiteral(migration.name)}, ${escapeLiteral(migration.checksum)},
         (extract(epoch FROM clock_timestamp() - current_setting('strata.mark')::timestamptz) * 1000)::int
  RETURNING name AS strata_applied, duration_ms, ${escapeLiteral(schema)} AS strata_schema;
${mark}`;
}

/** Its time goes to the last covered migration's row. */
function recordedBaseline(schema: string, baseline: Baseline): string {
  const last = baseline.covers.length - 1;
  const rows = baseline.covers.map((m, i) => `(${i}, ${escapeLiteral(m.name)}, ${escapeLiteral(m.checksum)}, ${i === last})`).join(',\n    ');
  return `${baseline.sql}
;
INSERT INTO ${historyOf(schema)} (name, checksum, duration_ms)
  SELECT name, checksum,
         CASE WHEN last THEN (extract(epoch FROM clock_timestamp() - current_setting('strata.mark')::timestamptz) * 1000)::int ELSE 0 END
    FROM (VALUES
    ${rows}) AS covered (position, name, checksum, last)
   ORDER BY position
  RETURNING name AS strata_applied, duration_ms, ${escapeLiteral(schema)} AS strata_schema;
${mark}`;
}

const results = (result: pg.QueryResult | pg.QueryResult[]) => (Array.isArray(result) ? result : [result]);

export function recordedRows(result: pg.QueryResult | pg.QueryResult[]): (AppliedMigration & { schema: string })[] {
  return results(result)
    .flatMap((r) => r.rows as { strata_applied?: string; duration_ms: number; strata_schema: string }[])
    .filter((row) => row.strata_applied !== undefined)
    .map((row) => ({ name: row.strata_applied!, durationMs: row.duration_ms, schema: row.strata_schema }));
}

async function applyOutsideTransaction(client: pg.ClientBase, options: ApplyOptions, migration: MigrationFolder) {
  const schema = escapeIdentifier(options.schema);
  const table = historyOf(options.schema);
  await client.query(`SELECT ${settings(options, schema, false)}, pg_advisory_lock(${lockKey(options)})`);
  try {
    // Another runner may have applied it while this one waited.
    const done = (await readHistory(client, options.schema)).some((h) => h.name === migration.name);
    if (done) return [];
    if (options.runtimeRole) await client.query(`${bypassCheck([migration])}\n${runtimeAccess(options, schema, table)}`);
    const statements = migration.sql
      .split(/;[ \t]*$/m)
      .map((statement) => statement.trim())
      .filter((statement) => statement.split('\n').some((line) => line.trim() && !line.trim().startsWith('--')));
    const started = performance.now();
    for (const statement of statements) await runOne(client, migration, statement);
    const durationMs = Math.round(performance.now() - started);
    await client.query(`INSERT INTO ${table} (name, checksum, duration_ms) VALUES ($1, $2, $3)`, [migration.name, migration.checksum, durationMs]);
    return [{ name: migration.name, durationMs }];
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${lockKey(options)}); RESET lock_timeout; RESET statement_timeout; RESET search_path`).catch(() => undefined);
  }
}

async function runOne(client: pg.ClientBase, migration: MigrationFolder, sql: string) {
  try {
    return await client.query(sql);
  } catch (cause) {
    throw new MigrationError(`migration ${migration.name} failed: ${(cause as Error).message}`, migration.name, { cause });
  }
}

/** Default privileges (`GRANT … ON ALL TABLES` scans pg_class per target); none on the history. */
function runtimeAccess(options: ApplyOptions, schema: string, table: string): string {
  if (!options.runtimeRole) return '';
  const runtime = escapeIdentifier(options.runtimeRole);
  return `GRANT USAGE ON SCHEMA ${schema} TO ${runtime};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${runtime};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${runtime};
     REVOKE ALL ON ${table} FROM ${runtime};`;
}
