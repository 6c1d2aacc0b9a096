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
import type { MigrationFolder } from './migration-files.js';

export const historyTable = '_strata_migrations';

export interface ApplyOptions {
  /** Schema the migration SQL runs in (it is written unqualified). */
  schema: string;
  migrations: MigrationFolder[];
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
export async function readHistory(client: pg.ClientBase, schema: string) {
  const table = `${escapeIdentifier(schema)}.${escapeIdentifier(historyTable)}`;
  try {
    const { rows } = await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${table} ORDER BY name`);
    return rows;
  } catch (err) {
    // One round trip in the common case; a target never migrated has no history table (42P01).
    if ((err as { code?: string }).code === '42P01') return [];
    throw err;
  }
}

/** Throws when the target's history disagrees with the code: edited or unknown migrations. */
export function pendingFor(applied: { name: string; checksum: string }[], migrations: MigrationFolder[]) {
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
  return migrations.filter((m) => !done.has(m.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Migrations that cannot run in a transaction (e.g. `CREATE INDEX CONCURRENTLY`) start with this
 * line. They run alone, statement by statement (one per line ending in `;`), under a session lock,
 * and are recorded after their last statement: a run interrupted halfway repeats them, so their
 * statements must be idempotent (`DROP INDEX CONCURRENTLY IF EXISTS …` before creating it).
 */
export const noTransactionMarker = '-- strata:no-transaction';

const isTransactional = (m: MigrationFolder) => !m.sql.trimStart().startsWith(noTransactionMarker);

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
function settings(options: ApplyOptions, schema: string, local: boolean) {
  return `set_config('lock_timeout', ${escapeLiteral(`${options.lockTimeoutMs ?? 10_000}ms`)}, ${local}),
          set_config('statement_timeout', ${escapeLiteral(`${options.statementTimeoutMs ?? 300_000}ms`)}, ${local}),
          set_config('search_path', ${escapeLiteral(schema)}, ${local})`;
}

const lockKey = (options: ApplyOptions) => `hashtextextended(${escapeLiteral(`strata.migrate.${options.schema}`)}, 0)`;

/**
 * In one transaction under the target's lock: the leading transactional pending migrations.
 * Stops before a non-transactional one and returns it.
 */
async function applyTransactionalRun(client: pg.ClientBase, options: ApplyOptions) {
  const schema = escapeIdentifier(options.schema);
  const table = `${schema}.${escapeIdentifier(historyTable)}`;
  // Round trips dominate on a fleet of small targets: statements are sent together where possible.
  await client.query(
    `BEGIN;
     SELECT ${settings(options, schema, true)}, pg_advisory_xact_lock(${lockKey(options)});
     CREATE TABLE IF NOT EXISTS ${table} (
       name text PRIMARY KEY,
       checksum text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now(),
       duration_ms integer NOT NULL)`,
  );
  try {
    const pending = pendingFor(await readHistory(client, options.schema), options.migrations);
    if (pending.length > 0 && options.runtimeRole) await client.query(runtimeAccess(options, schema, table));
    const applied: AppliedMigration[] = [];
    const records: string[] = [];
    let blockedBy: MigrationFolder | undefined;
    for (const migration of pending) {
      if (!isTransactional(migration)) {
        blockedBy = migration;
        break;
      }
      const durationMs = await run(client, migration, [migration.sql]);
      applied.push({ name: migration.name, durationMs });
      records.push(`(${escapeLiteral(migration.name)}, ${escapeLiteral(migration.checksum)}, ${durationMs})`);
    }
    await client.query(
      records.length
        ? `INSERT INTO ${table} (name, checksum, duration_ms) VALUES ${records.join(', ')}; COMMIT`
        : 'COMMIT',
    );
    return { applied, blockedBy };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function applyOutsideTransaction(client: pg.ClientBase, options: ApplyOptions, migration: MigrationFolder) {
  const schema = escapeIdentifier(options.schema);
  const table = `${schema}.${escapeIdentifier(historyTable)}`;
  await client.query(`SELECT ${settings(options, schema, false)}, pg_advisory_lock(${lockKey(options)})`);
  try {
    // Another runner may have finished it while this one waited for the lock.
    const done = (await readHistory(client, options.schema)).some((h) => h.name === migration.name);
    if (done) return [];
    if (options.runtimeRole) await client.query(runtimeAccess(options, schema, table));
    const statements = migration.sql
      .split(/;[ \t]*$/m)
      .map((statement) => statement.trim())
      .filter((statement) => statement.split('\n').some((line) => line.trim() && !line.trim().startsWith('--')));
    const durationMs = await run(client, migration, statements);
    await client.query(`INSERT INTO ${table} (name, checksum, duration_ms) VALUES ($1, $2, $3)`, [
      migration.name,
      migration.checksum,
      durationMs,
    ]);
    return [{ name: migration.name, durationMs }];
  } finally {
    await client
      .query(`SELECT pg_advisory_unlock(${lockKey(options)}); RESET lock_timeout; RESET statement_timeout; RESET search_path`)
      .catch(() => undefined);
  }
}

/** Runs a migration's statements; returns how long they took. */
async function run(client: pg.ClientBase, migration: MigrationFolder, statements: string[]): Promise<number> {
  const started = performance.now();
  try {
    for (const statement of statements) await client.query(statement);
  } catch (cause) {
    throw new MigrationError(`migration ${migration.name} failed: ${(cause as Error).message}`, migration.name, { cause });
  }
  return Math.round(performance.now() - started);
}

/**
 * Row access for the runtime role on every table the migrations create, none on the history
 * table. Default privileges grant it as each table is created: `GRANT … ON ALL TABLES IN SCHEMA`
 * scans all of pg_class, which costs ~35 ms per target in a database of 1,000 tenant schemas.
 * Runs before the migrations (so the tables they create are covered) and only when some are pending.
 */
function runtimeAccess(options: ApplyOptions, schema: string, table: string): string {
  if (!options.runtimeRole) return '';
  const runtime = escapeIdentifier(options.runtimeRole);
  return `GRANT USAGE ON SCHEMA ${schema} TO ${runtime};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${runtime};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${runtime};
     REVOKE ALL ON ${table} FROM ${runtime};`;
}
