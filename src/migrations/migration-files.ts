/** Migration folders on disk, in Prisma's layout: `<dir>/<timestamp>_<name>/migration.sql`. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MigrationFolder {
  /** Folder name, e.g. `20261122000000_init`; migrations apply in name order. */
  name: string;
  sql: string;
  /** sha256 of the SQL: an applied migration whose file later changes is detected by it. */
  checksum: string;
}

const prismaDir = fileURLToPath(new URL('../../prisma/', import.meta.url));

/** The two migration streams: the catalog's own and the one every tenant target follows. */
export const migrationDirs = {
  catalog: join(prismaDir, 'catalog', 'migrations'),
  tenant: join(prismaDir, 'tenant', 'migrations'),
} as const;

/** Each stream's squashed baseline, if it has one (see baseline.ts). */
export const baselinePaths = {
  catalog: join(prismaDir, 'catalog', 'baseline.sql'),
  tenant: join(prismaDir, 'tenant', 'baseline.sql'),
} as const;

/**
 * Migrations that cannot run in a transaction (e.g. `CREATE INDEX CONCURRENTLY`) start with this
 * line. They run alone, statement by statement (one per line ending in `;`), under a session lock,
 * and are recorded after their last statement: a run interrupted halfway repeats them, so their
 * statements must be idempotent (`DROP INDEX CONCURRENTLY IF EXISTS …` before creating it).
 */
export const noTransactionMarker = '-- strata:no-transaction';

export const isTransactional = (m: MigrationFolder) => !m.sql.trimStart().startsWith(noTransactionMarker);

/** Name order, the order migrations apply in (a plain code-unit comparison, like the history's). */
export const byName = (a: MigrationFolder, b: MigrationFolder) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

export async function readMigrations(dir: string): Promise<MigrationFolder[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory() && /^\d{14}_[a-z0-9_]+$/.test(e.name))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: checksumOf(sql) };
    }),
  );
}
