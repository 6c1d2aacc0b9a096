/** Migration folders on disk, in Prisma's layout: `<dir>/<timestamp>_<name>/migration.sql`. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MigrationFolder {
  name: string;
  sql: string;
  /** sha256 of the SQL, to detect edits after apply. */
  checksum: string;
}

const prismaDir = fileURLToPath(new URL('../../prisma/', import.meta.url));

export const migrationDirs = {
  catalog: join(prismaDir, 'catalog', 'migrations'),
  tenant: join(prismaDir, 'tenant', 'migrations'),
} as const;

export const baselinePaths = {
  catalog: join(prismaDir, 'catalog', 'baseline.sql'),
  tenant: join(prismaDir, 'tenant', 'baseline.sql'),
} as const;

/**
 * First line of a migration run outside a transaction, statement by statement (one per line ending
 * in `;`) and recorded after the last: its statements must be idempotent.
 */
export const noTransactionMarker = '-- strata:no-transaction';

export const isTransactional = (m: MigrationFolder) => !m.sql.trimStart().startsWith(noTransactionMarker);

/** Apply order: a code-unit comparison, like the history's. */
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
