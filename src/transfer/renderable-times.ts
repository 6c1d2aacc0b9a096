/** An import refuses dates JavaScript and ISO 8601 cannot carry (`infinity`, years past 9999). */
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { ArchiveFormatError } from './archive-format.js';
import { assertTenantTransaction } from './tenant-transaction.js';
import { tenantColumn, type TenantTable } from './tenant-tables.js';

const lowest = escapeLiteral('0001-01-01');
const beyond = escapeLiteral('10000-01-01');

export async function assertRenderableTimes(client: pg.ClientBase, schema: string, tables: TenantTable[], tenantId: string): Promise<void> {
  await assertTenantTransaction(client, tenantId);
  const { rows } = await client.query<{ table: string; columns: string[] }>(
    `SELECT c.relname AS table, array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_type t ON t.oid = a.atttypid
      WHERE c.relnamespace = $1::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
        AND (CASE t.typtype WHEN 'd' THEN t.typbasetype ELSE t.oid END) IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)
      GROUP BY c.relname`,
    [escapeIdentifier(schema)],
  );
  const timeColumns = new Map(rows.map((r) => [r.table, r.columns]));
  for (const table of tables) {
    const columns = timeColumns.get(table.name);
    if (!columns) continue;
    const outside = (c: string) => `NOT (${escapeIdentifier(c)} >= ${lowest} AND ${escapeIdentifier(c)} < ${beyond})`;
    const key = table.primaryKey.filter((c) => c !== tenantColumn);
    const { rows: found } = await client.query<Record<string, string | boolean>>(
      `SELECT ${[...key, ...columns].map((c) => `${escapeIdentifier(c)}::text`).join(', ')}, ${columns.map((c, i) => `${outside(c)} AS "bad ${i}"`).join(', ')}
         FROM ${escapeIdentifier(schema)}.${escapeIdentifier(table.name)}
        WHERE ${escapeIdentifier(tenantColumn)} = $1 AND (${columns.map(outside).join(' OR ')})
        LIMIT 1`,
      [tenantId],
    );
    const row = found[0];
    if (!row) continue;
    const column = columns.find((_, i) => row[`bad ${i}`] === true)!;
    const where = key.map((c) => `${c} ${String(row[c])}`).join(', ');
    throw new ArchiveFormatError(`${table.name}.${column} of the row with ${where} is ${String(row[column])}: dates and times must lie in the years 1 to 9999`);
  }
}
