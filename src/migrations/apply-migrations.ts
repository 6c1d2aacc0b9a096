/**
 * Applies pending migrations to one target: the pooled tables (a database's public schema), one
 * tenant schema, one dedicated database, or the catalog. The fleet-wide runner calls this per target.
 *
 * All pending migrations of a target apply in one transaction under an advisory lock keyed by the
 * target, so concurrent runners apply each migration once and a failure leaves the target at its
 * last good version. History (name, checksum, duration) lives in the target itself.
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
  const exists = await client.query(`SELECT to_regclass(${escapeLiteral(table)}) IS NOT NULL AS present`);
  if (!exists.rows[0].present) return [];
  const { rows } = await client.query<{ name: string; checksum: string }>(
    `SELECT name, checksum FROM ${table} ORDER BY name`,
  );
  return rows;
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

export async function applyMigrations(client: pg.ClientBase, options: ApplyOptions): Promise<AppliedMigration[]> {
  const schema = escapeIdentifier(options.schema);
  const table = `${schema}.${escapeIdentifier(historyTable)}`;
  await client.query('BEGIN');
  try {
    await client.query(
      `SELECT set_config('lock_timeout', ${escapeLiteral(`${options.lockTimeoutMs ?? 10_000}ms`)}, true),
              set_config('statement_timeout', ${escapeLiteral(`${options.statementTimeoutMs ?? 300_000}ms`)}, true),
              set_config('search_path', ${escapeLiteral(schema)}, true),
              pg_advisory_xact_lock(hashtextextended(${escapeLiteral(`strata.migrate.${options.schema}`)}, 0))`,
    );
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         name text PRIMARY KEY,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(),
         duration_ms integer NOT NULL)`,
    );
    const pending = pendingFor(await readHistory(client, options.schema), options.migrations);
    const applied: AppliedMigration[] = [];
    for (const migration of pending) {
      const started = performance.now();
      try {
        await client.query(migration.sql);
      } catch (cause) {
        throw new MigrationError(`migration ${migration.name} failed: ${(cause as Error).message}`, migration.name, { cause });
      }
      const durationMs = Math.round(performance.now() - started);
      await client.query(`INSERT INTO ${table} (name, checksum, duration_ms) VALUES ($1, $2, $3)`, [
        migration.name,
        migration.checksum,
        durationMs,
      ]);
      applied.push({ name: migration.name, durationMs });
    }
    if (applied.length > 0 && options.runtimeRole) {
      const runtime = escapeIdentifier(options.runtimeRole);
      await client.query(
        `GRANT USAGE ON SCHEMA ${schema} TO ${runtime};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${runtime};
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${runtime};
         REVOKE ALL ON ${table} FROM ${runtime};`,
      );
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
