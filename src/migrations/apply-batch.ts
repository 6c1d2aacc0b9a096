/** Many schemas of one database in one transaction; a stale history read fails it (primary key). */
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
  /** Transactional; the target has some history. */
  pending: MigrationFolder[];
}

export async function applyBatch(
  client: pg.ClientBase,
  targets: BatchTarget[],
  options: Pick<ApplyOptions, 'lockTimeoutMs' | 'statementTimeoutMs'>,
): Promise<Map<string, AppliedMigration[]>> {
  // Schema order for every runner, so runners batching differently cannot deadlock.
  const ordered = [...targets].sort((a, b) => (a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : 0));
  const locks = ordered.map((t) => `pg_advisory_xact_lock(${migrationLockKey(t.schema)})`).join(', ');
  const work = ordered.map(
    (t) => `SELECT set_config('search_path', ${escapeLiteral(escapeIdentifier(t.schema))}, true);
${mark}
${t.pending.map((m) => recorded(t.schema, m)).join('\n')}`,
  );
  try {
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
