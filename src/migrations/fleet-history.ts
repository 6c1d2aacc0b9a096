/** Many schemas' histories in two round trips; unlocked, a hint apply re-checks (apply-batch.ts). */
import type pg from 'pg';
import { escapeLiteral } from 'pg';
import { historyOf, historyTable, type History } from './apply-migrations.js';

/** Planning one UNION over thousands of tables costs more than it saves. */
const perQuery = 250;

/** Schemas missing from the result (dropped meanwhile) are to be read one by one. */
export async function readHistories(client: pg.ClientBase, schemas: string[]): Promise<Map<string, History>> {
  const histories = new Map<string, History>();
  // to_regclass is a cache lookup per name; a pg_class join would scan.
  const { rows } = await client.query<{ schema: string }>(
    `SELECT s AS schema FROM unnest($1::text[]) s WHERE to_regclass(format('%I.%I', s, $2::text)) IS NOT NULL`,
    [schemas, historyTable],
  );
  const withHistory = new Set(rows.map((r) => r.schema));
  for (const schema of schemas) if (!withHistory.has(schema)) histories.set(schema, []);
  const readable = [...withHistory];
  for (let i = 0; i < readable.length; i += perQuery) {
    const part = readable.slice(i, i + perQuery);
    const sql = part.map((schema) => `SELECT ${escapeLiteral(schema)} AS schema, name, checksum FROM ${historyOf(schema)}`).join('\nUNION ALL\n');
    try {
      const result = await client.query<{ schema: string; name: string; checksum: string }>(`${sql}\nORDER BY schema, name`);
      for (const schema of part) histories.set(schema, []);
      for (const row of result.rows) histories.get(row.schema)!.push({ name: row.name, checksum: row.checksum });
    } catch (err) {
      // A schema dropped meanwhile (a purge).
      if (!['42P01', '3F000'].includes((err as { code?: string }).code ?? '')) throw err;
    }
  }
  return histories;
}
