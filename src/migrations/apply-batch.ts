/**
 * Applies the pending migrations of several tenant schemas of one database in one transaction and
 * one round trip: the fleet runner's fast path for the common deploy, where hundreds of schemas
 * need the same new migrations. Per target, the advisory lock, the migrations and their history
 * rows are exactly those of `applyMigrations`; what the batch saves is a transaction, a commit and
 * three round trips per target.
 *
 * The pending lists come from a history read made before the batch, without a lock. The batch
 * stays correct if that read is stale: every history row is inserted in the transaction that runs
 * its migration and the history's primary key is the migration's name, so a migration another
 * runner applied meanwhile makes the batch fail and roll back, never apply twice. The caller then
 * applies the batch's targets one by one, which also names the target that failed.
 */
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import {
  asynchronousCommit,
  bypassCheck,
  mark,
  migrationLockKey,
  recorded,
  recordedRows,
  settings,
  type AppliedMigration,
  type ApplyOptions,
} from './apply-migrations.js';
import type { MigrationFolder } from './migration-files.js';

export interface BatchTarget {
  schema: string;
  /** Transactional migrations to apply, in order; the target already has some history. */
  pending: MigrationFolder[];
}

/** Applied migrations per schema; throws (after rolling back) when anything in the batch failed. */
export async function applyBatch(
  client: pg.ClientBase,
  targets: BatchTarget[],
  options: Pick<ApplyOptions, 'lockTimeoutMs' | 'statementTimeoutMs'>,
): Promise<Map<string, AppliedMigration[]>> {
  // One lock order for every runner (schema name), so two runners batching differently cannot deadlock.
  const ordered = [...targets].sort((a, b) => (a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : 0));
  const locks = ordered.map((t) => `pg_advisory_xact_lock(${migrationLockKey(t.schema)})`).join(', ');
  const work = ordered.map(
    (t) => `SELECT set_config('search_path', ${escapeLiteral(escapeIdentifier(t.schema))}, true);
${mark}
${t.pending.map((m) => recorded(t.schema, m)).join('\n')}`,
  );
  try {
    // COMMIT travels with the batch: after a failed statement the server skips the rest of it.
    const result = await client.query(`BEGIN;
SELECT ${settings(options, 'pg_catalog', true)}, ${asynchronousCommit}, ${locks};
${bypassCheck(ordered.flatMap((t) => t.pending))}
${work.join('\n')}
COMMIT;`);
    const applied = new Map<string, AppliedMigration[]>(ordered.map((t) => [t.schema, []]));
    for (const row of recordedRows(result)) applied.get(row.schema)!.push({ name: row.name, durationMs: row.durationMs });
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
