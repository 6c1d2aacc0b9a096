/**
 * Applies pending migrations to one target: the pooled tables (a database's public schema), one
 * tenant schema, one dedicated database, or the catalog. The fleet-wide runner calls this per target.
 *
 * Pending migrations of a target apply in one transaction under an advisory lock keyed by the
 * target, so concurrent runners apply each migration once and a failure leaves the target at its
 * last good version (migrations marked no-transaction are the exception, see below). History
 * (name, checksum, duration) lives in the target itself.
 */
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { baselineApplies, type Baseline } from './baseline.js';
import { byName, isTransactional, type MigrationFolder } from './migration-files.js';

export const historyTable = '_strata_migrations';

/** The history table of a target schema, quoted for SQL. */
export const historyOf = (schema: string) => `${escapeIdentifier(schema)}.${escapeIdentifier(historyTable)}`;

/** A target's applied migrations, oldest first. */
export type History = { name: string; checksum: string }[];

export interface ApplyOptions {
  /** Schema the migration SQL runs in (it is written unqualified). */
  schema: string;
  migrations: MigrationFolder[];
  /** Built instead of its migrations on a target with no history (see baseline.ts). */
  baseline?: Baseline;
  /** Role granted row access to the target's tables (none for the catalog). */
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

/** Applied history of a target, oldest first; empty when it has never been migrated. */
export async function readHistory(client: pg.ClientBase, schema: string): Promise<History> {
  try {
    const { rows } = await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${historyOf(schema)} ORDER BY name`);
    return rows;
  } catch (err) {
    // One round trip in the common case; a target never migrated has no history table (42P01).
    if ((err as { code?: string }).code === '42P01') return [];
    throw err;
  }
}

/** Throws when the target's history disagrees with the code: edited or unknown migrations. */
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
  // Name order is the contract (MigrationFolder.name), whatever order the caller passes.
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

/** Timeouts and search path for the migration's statements; `local` ties them to the transaction. */
export function settings(options: Pick<ApplyOptions, 'lockTimeoutMs' | 'statementTimeoutMs'>, schema: string, local: boolean) {
  return `set_config('lock_timeout', ${escapeLiteral(`${options.lockTimeoutMs ?? 10_000}ms`)}, ${local}),
          set_config('statement_timeout', ${escapeLiteral(`${options.statementTimeoutMs ?? 300_000}ms`)}, ${local}),
          set_config('search_path', ${escapeLiteral(schema)}, ${local})`;
}

/**
 * Sent ahead of tenant migrations that change rows. Every tenant table forces row security on its
 * owner, so a migration's UPDATE or INSERT … SELECT reaches every tenant's rows only as a role that
 * bypasses it (bootstrap-server.ts grants the owner BYPASSRLS); without that it would change no
 * row and still succeed. Refusing is the only safe answer. DDL is not filtered by row security.
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

/**
 * A migration transaction does not wait for its commit record to reach disk (that wait was a third
 * of a fleet run). Safe: migration and history row share one transaction, so a crash loses both or
 * neither, and the next run applies what was lost again.
 */
export const asynchronousCommit = `set_config('synchronous_commit', 'off', true)`;

/** SQL for the advisory lock key that serializes work on a target schema (see claimSpare too). */
export const migrationLockKey = (schema: string) => `hashtextextended(${escapeLiteral(`strata.migrate.${schema}`)}, 0)`;

const lockKey = (options: ApplyOptions) => migrationLockKey(options.schema);

/**
 * In one transaction under the target's lock: the leading transactional pending migrations.
 * Stops before a non-transactional one and returns it.
 */
async function applyTransactionalRun(client: pg.ClientBase, options: ApplyOptions, batched = true): Promise<TransactionalRun> {
  const schema = escapeIdentifier(options.schema);
  const table = historyOf(options.schema);
  // Round trips dominate on a fleet of small targets (and in provisioning): statements travel
  // together. One round trip opens, locks and reads the history; one applies and records every
  // pending migration (each followed by its history row) and commits.
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
    // Default privileges, set before the target's first migration, cover every later table.
    const access = run.length > 0 && history.length === 0 ? runtimeAccess(options, schema, table) : '';
    const check = options.runtimeRole ? bypassCheck(run) : '';
    const applied: AppliedMigration[] = [];
    if (batched && run.length > 0) {
      inBatch = true;
      const steps = baselineApplies(options.baseline, history, run)
        ? [recordedBaseline(options.schema, options.baseline), ...run.slice(options.baseline.covers.length).map((m) => recorded(options.schema, m))]
        : run.map((m) => recorded(options.schema, m));
      // COMMIT travels with the batch: after a failed statement the server skips the rest of it.
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
    // A batch failure does not say which migration failed: replay one by one to find out.
    if (inBatch) return applyTransactionalRun(client, options, false);
    throw err;
  }
}

interface TransactionalRun {
  applied: AppliedMigration[];
  /** The first pending migration that must run outside a transaction, if any. */
  blockedBy?: MigrationFolder;
}

/** Marks the time: each history row records the time since the previous mark. */
export const mark = `SELECT set_config('strata.mark', clock_timestamp()::text, true);`;

/** A migration's SQL followed by its history row (returning it, with the target's schema) and a new mark. */
export function recorded(schema: string, migration: MigrationFolder): string {
  return `${migration.sql}
;
INSERT INTO ${historyOf(schema)} (name, checksum, duration_ms)
  SELECT ${escapeLiteral(migration.name)}, ${escapeLiteral(migration.checksum)},
         (extract(epoch FROM clock_timestamp() - current_setting('strata.mark')::timestamptz) * 1000)::int
  RETURNING name AS strata_applied, duration_ms, ${escapeLiteral(schema)} AS strata_schema;
${mark}`;
}

/**
 * The baseline followed by a history row for each migration it covers. The time it took goes to
 * the last of them, the others record 0: the history's durations still add up to the real time.
 */
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

/** The history rows a batch returned, each with the schema it was recorded in. */
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
    // Another runner may have finished it while this one waited for the lock.
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

/** Runs a migration's SQL; a failure names the migration. */
async function runOne(client: pg.ClientBase, migration: MigrationFolder, sql: string) {
  try {
    return await client.query(sql);
  } catch (cause) {
    throw new MigrationError(`migration ${migration.name} failed: ${(cause as Error).message}`, migration.name, { cause });
  }
}

/**
 * Row access for the runtime role on every table the migrations create, none on the history
 * table. Default privileges grant it as each table is created: `GRANT … ON ALL TABLES IN SCHEMA`
 * scans all of pg_class, which costs ~35 ms per target in a database of 1,000 tenant schemas.
 * Runs before the target's first migration, so the tables of every later migration are covered too.
 */
function runtimeAccess(options: ApplyOptions, schema: string, table: string): string {
  if (!options.runtimeRole) return '';
  const runtime = escapeIdentifier(options.runtimeRole);
  return `GRANT USAGE ON SCHEMA ${schema} TO ${runtime};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${runtime};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${runtime};
     REVOKE ALL ON ${table} FROM ${runtime};`;
}
