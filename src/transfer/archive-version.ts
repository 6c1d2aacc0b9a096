/**
 * Older archives load into a scratch schema at their version, are migrated forward and moved in,
 * all in the import's transaction.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { MigrationError } from '../migrations/apply-migrations.js';
import { isTransactional, type MigrationFolder } from '../migrations/migration-files.js';
import { assertTenantTransaction } from './tenant-transaction.js';
import { dataColumns, tenantColumn, type TenantTable } from './tenant-tables.js';

export class VersionGapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VersionGapError';
  }
}

/** Splits the tenant's migrations at the archive's; refused unless `archived` begins `current`. */
export function migrationsAfter(archived: string[], current: string[], known: MigrationFolder[]): { atArchive: MigrationFolder[]; later: MigrationFolder[] } {
  const describe = (list: string[]) => `${list.at(-1) ?? '(none)'} (${list.length} applied)`;
  if (archived.length > current.length || archived.some((name, i) => current[i] !== name)) {
    throw new VersionGapError(`the archive was taken at migration ${describe(archived)}, the tenant is at ${describe(current)}: migrate the tenant first`);
  }
  const byName = new Map(known.map((m) => [m.name, m]));
  const files = current.map((name) => {
    const file = byName.get(name);
    if (!file) throw new VersionGapError(`the tenant has migration ${name}, which this code does not know`);
    return file;
  });
  const blocking = files.slice(archived.length).find((m) => !isTransactional(m));
  if (blocking)
    throw new VersionGapError(`migration ${blocking.name} cannot run inside the import's transaction; import into a tenant at the archive's version instead`);
  return { atArchive: files.slice(0, archived.length), later: files.slice(archived.length) };
}

/** The caller drops it before committing. */
export async function scratchSchema(client: pg.ClientBase, migrations: MigrationFolder[]): Promise<string> {
  const schema = `_strata_import_${randomBytes(6).toString('hex')}`;
  await client.query(`CREATE SCHEMA ${escapeIdentifier(schema)}`);
  await migrate(client, schema, migrations);
  return schema;
}

/** In the caller's transaction; migration SQL is unqualified, hence the search path. */
export async function migrate(client: pg.ClientBase, schema: string, migrations: MigrationFolder[]): Promise<void> {
  await withSearchPath(client, escapeIdentifier(schema), async () => {
    for (const migration of migrations) {
      try {
        await client.query(migration.sql);
      } catch (cause) {
        throw new MigrationError(`migration ${migration.name} failed on the archive's rows: ${(cause as Error).message}`, migration.name, { cause });
      }
    }
  });
}

async function withSearchPath<T>(client: pg.ClientBase, path: string, fn: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ path: string }>(`SELECT current_setting('search_path') AS path, set_config('search_path', $1, true)`, [path]);
  const result = await fn();
  await client.query(`SELECT set_config('search_path', $1, true)`, [rows[0]!.path]);
  return result;
}

/**
 * Moves the tenant's rows between schemas at one version. Values pass through text: a type the
 * migrations define (a domain, an enum) is another type in each schema.
 */
export async function moveRows(client: pg.ClientBase, from: string, to: string, tables: TenantTable[], tenantId: string): Promise<void> {
  await assertTenantTransaction(client, tenantId);
  for (const table of tables) {
    const columns = dataColumns(table);
    // An empty search path makes format_type qualify non-builtin types with the target's schema.
    const { rows: types } = await withSearchPath(client, '', () =>
      client.query<{ name: string; type: string }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
        [`${escapeIdentifier(to)}.${escapeIdentifier(table.name)}`],
      ),
    );
    const typeOf = new Map(types.map((t) => [t.name, t.type]));
    const list = columns.map((c) => escapeIdentifier(c)).join(', ');
    const values = columns.map((c) => `CAST(CAST(${escapeIdentifier(c)} AS text) AS ${typeOf.get(c)!})`).join(', ');
    await client.query(
      `INSERT INTO ${escapeIdentifier(to)}.${escapeIdentifier(table.name)} (${list}) OVERRIDING SYSTEM VALUE
       SELECT ${values} FROM ${escapeIdentifier(from)}.${escapeIdentifier(table.name)} WHERE ${escapeIdentifier(tenantColumn)} = $1`,
      [tenantId],
    );
  }
}
