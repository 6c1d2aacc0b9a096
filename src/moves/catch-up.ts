/**
 * A move's bulk copy and catch-up passes. Each applies one REPEATABLE READ source snapshot, then
 * deletes the log rows it covered, committed after the target: a crash in between repeats the pass.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyOut, copyTable, countRows } from '../transfer/copy-table.js';
import { tableChecksum, type TableChecksum } from '../transfer/table-checksum.js';
import { dataColumns, tenantColumn, type TenantTable } from '../transfer/tenant-tables.js';
import { inTenantTransaction } from '../transfer/tenant-transaction.js';
import { captureSchema } from './change-capture.js';

export interface Side {
  client: pg.ClientBase;
  schema: string;
  /** Pooled: the tenant's rows are deleted rather than truncated. */
  shared: boolean;
}

export class MoveVerificationError extends Error {
  constructor(readonly mismatches: string[]) {
    super(`source and target differ: ${mismatches.join('; ')}`);
    this.name = 'MoveVerificationError';
  }
}

const qualified = (schema: string, table: string) => `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;
const keyMatch = (a: string, b: string, table: TenantTable) =>
  table.primaryKey.map((c) => `${a}.${escapeIdentifier(c)} = ${b}.${escapeIdentifier(c)}`).join(' AND ');
const chunkSize = 1000;
/** Items are JSON text already. */
const jsonArray = (items: string[]) => `[${items.join(',')}]`;

type JsonColumns = Map<string, { name: string; type: 'json' | 'jsonb' }[]>;

async function jsonColumns(side: Side): Promise<JsonColumns> {
  const { rows } = await side.client.query<{ table: string; name: string; type: 'json' | 'jsonb' }>(
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, NULL) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)`,
    [side.schema],
  );
  const out: JsonColumns = new Map();
  for (const row of rows) out.set(row.table, [...(out.get(row.table) ?? []), row]);
  return out;
}

/** A row as jsonb with json(b) columns as text, so a JSON null does not come back as SQL NULL. */
const rowJson = (alias: string, json: { name: string }[] = []) =>
  json.length
    ? `(to_jsonb(${alias}) || jsonb_build_object(${json.map((c) => `${escapeLiteral(c.name)}, to_jsonb(${alias}.${escapeIdentifier(c.name)}::text)`).join(', ')}))`
    : `to_jsonb(${alias})`;

/** Reads rowJson's rows back (from jsonb_populate_recordset as `r`). */
const columnsFromRowJson = (table: TenantTable, json: { name: string; type: string }[] = []) =>
  table.columns
    .map((c) => {
      const j = json.find((x) => x.name === c);
      return j ? `(r.${escapeIdentifier(c)} #>> '{}')::${j.type}` : `r.${escapeIdentifier(c)}`;
    })
    .join(', ');

/** Children first, inside the tenant transaction. */
export async function clearTenantRows(side: Side, tables: TenantTable[], tenantId: string): Promise<void> {
  if (!side.shared) {
    if (tables.length) await side.client.query(`TRUNCATE ${tables.map((t) => qualified(side.schema, t.name)).join(', ')}`);
    return;
  }
  for (const table of [...tables].reverse()) {
    await side.client.query(`DELETE FROM ${qualified(side.schema, table.name)} WHERE ${escapeIdentifier(tenantColumn)} = $1`, [tenantId]);
  }
}

/** Forgets the change-log rows the current (source) transaction's snapshot sees. */
async function consumeChanges(source: Side, tenantId: string) {
  await source.client.query(`DELETE FROM ${captureSchema}.changes WHERE tenant_id = $1 AND schema_name = $2`, [tenantId, source.schema]);
}

/** Referenced tables first, with streamed COPY. */
export async function bulkCopy(options: {
  source: Side;
  target: Side;
  tables: TenantTable[];
  tenantId: string;
  /** Rows per table, counted in the copy's snapshot. */
  onTotals?: (totals: Record<string, number>) => void;
  onRows?: (table: string, copied: number) => void;
}): Promise<Record<string, number>> {
  const { source, target, tables, tenantId } = options;
  return inTenantTransaction(
    source.client,
    tenantId,
    async () => {
      const totals: Record<string, number> = {};
      for (const table of tables) {
        const { rows } = await source.client.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${qualified(source.schema, table.name)} WHERE ${escapeIdentifier(tenantColumn)} = $1`,
          [tenantId],
        );
        totals[table.name] = Number(rows[0]!.n);
      }
      options.onTotals?.(totals);
      const copied: Record<string, number> = {};
      await inTenantTransaction(target.client, tenantId, async () => {
        await clearTenantRows(target, tables, tenantId);
        const foreignKeys = target.shared ? [] : await dropForeignKeys(target);
        for (const table of tables) {
          const onRows = (n: number) => options.onRows?.(table.name, n);
          copied[table.name] = target.shared
            ? await copyTable({ source, target, table, tenantId, onRows })
            : await copyIntoOwnTable(source, target, table, tenantId, onRows);
        }
        for (const fk of foreignKeys) {
          await target.client.query(`ALTER TABLE ${qualified(target.schema, fk.table)} ADD CONSTRAINT ${escapeIdentifier(fk.name)} ${fk.definition}`);
        }
      });
      await consumeChanges(source, tenantId);
      return copied;
    },
    { isolation: 'repeatable read' },
  );
}

/**
 * COPY FROM into a target the tenant has alone (faster than copyTable's staging). Forced RLS refuses
 * it to an owner without BYPASSRLS: FORCE is lifted in this transaction only (DDL is transactional;
 * the runtime role is under RLS regardless).
 */
async function copyIntoOwnTable(source: Side, target: Side, table: TenantTable, tenantId: string, onRows: (n: number) => void): Promise<number> {
  const out = await copyOut(source, table, tenantId);
  const name = qualified(target.schema, table.name);
  await target.client.query(`ALTER TABLE ${name} NO FORCE ROW LEVEL SECURITY`);
  const load = target.client.query(
    copyFrom(
      `COPY ${name} (${dataColumns(table)
        .map((c) => escapeIdentifier(c))
        .join(', ')}) FROM STDIN`,
    ),
  );
  await pipeline(Readable.from(countRows(out, onRows)), load);
  await target.client.query(`ALTER TABLE ${name} FORCE ROW LEVEL SECURITY`);
  return load.rowCount;
}

/** Row-checked foreign keys cost more than the copy; re-added in this transaction, one join each. */
async function dropForeignKeys(target: Side) {
  const { rows } = await target.client.query<{ table: string; name: string; definition: string }>(
    `SELECT c.relname AS table, f.conname AS name, pg_get_constraintdef(f.oid) AS definition
       FROM pg_constraint f JOIN pg_class c ON c.oid = f.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE f.contype = 'f' AND n.nspname = $1 AND c.relname NOT LIKE '\\_strata\\_%'
      ORDER BY c.relname, f.conname`,
    [target.schema],
  );
  for (const fk of rows) await target.client.query(`ALTER TABLE ${qualified(target.schema, fk.table)} DROP CONSTRAINT ${escapeIdentifier(fk.name)}`);
  return rows;
}

export interface PassResult {
  /** Distinct changed keys: the backlog the pass cleared. */
  keys: number;
  upserted: number;
  deleted: number;
  /** After a `checksums` pass: per table, identical on both sides. */
  verified?: Record<string, TableChecksum>;
}

/**
 * Each logged key's current source row replaces (or deletes) the target's; a mismatch commits nothing.
 * `keys` checks only the keys applied: enough after a `checksums` pass (only the mover writes there).
 */
export async function catchUpPass(options: {
  source: Side;
  target: Side;
  tables: TenantTable[];
  tenantId: string;
  verify?: 'keys' | 'checksums';
}): Promise<PassResult> {
  const { source, target, tables, tenantId } = options;
  return inTenantTransaction(
    source.client,
    tenantId,
    async () => {
      const result: PassResult = { keys: 0, upserted: 0, deleted: 0 };
      await inTenantTransaction(target.client, tenantId, async () => {
        const json = await jsonColumns(source);
        const deletions: { table: TenantTable; keys: string[] }[] = [];
        const applied: { table: TenantTable; present: string[]; gone: string[] }[] = [];
        // Upserts go referenced tables first, deletions referencing tables first.
        for (const table of tables) {
          // Rows and keys stay jsonb text: a JS number loses digits of a numeric or bigint beyond 2^53.
          const { rows: changed } = await source.client.query<{ key: string }>(
            `SELECT DISTINCT key::text AS key FROM ${captureSchema}.changes WHERE tenant_id = $1 AND schema_name = $2 AND table_name = $3`,
            [tenantId, source.schema, table.name],
          );
          result.keys += changed.length;
          const gone: string[] = [];
          for (let i = 0; i < changed.length; i += chunkSize) {
            const keys = changed.slice(i, i + chunkSize).map((r) => r.key);
            const { rows } = await source.client.query<{ key: string; row: string | null }>(
              `SELECT k.key::text AS key, ${rowJson('t', json.get(table.name))}::text AS row
                 FROM jsonb_array_elements($1::jsonb) AS k(key)
                 CROSS JOIN LATERAL jsonb_populate_record(NULL::${qualified(source.schema, table.name)}, k.key) AS p
                 LEFT JOIN ${qualified(source.schema, table.name)} AS t ON ${keyMatch('t', 'p', table)}`,
              [jsonArray(keys)],
            );
            const present = rows.filter((r) => r.row !== null).map((r) => r.row!);
            const absent = rows.filter((r) => r.row === null).map((r) => r.key);
            gone.push(...absent);
            if (present.length) result.upserted += await upsertRows(target, table, present, json.get(table.name));
            if (options.verify === 'keys') applied.push({ table, present, gone: absent });
          }
          if (gone.length) deletions.push({ table, keys: gone });
        }
        for (const { table, keys } of deletions.reverse()) result.deleted += await deleteRows(target, table, keys);
        if (options.verify === 'checksums') result.verified = await verifyTables(source, target, tables, tenantId);
        if (options.verify === 'keys') await verifyKeys(target, applied, json);
      });
      await consumeChanges(source, tenantId);
      return result;
    },
    { isolation: 'repeatable read' },
  );
}

async function upsertRows(target: Side, table: TenantTable, rows: string[], json?: { name: string; type: string }[]): Promise<number> {
  const columns = table.columns.map((c) => escapeIdentifier(c)).join(', ');
  const updates = table.columns.filter((c) => !table.primaryKey.includes(c)).map((c) => `${escapeIdentifier(c)} = EXCLUDED.${escapeIdentifier(c)}`);
  const { rowCount } = await target.client.query(
    `INSERT INTO ${qualified(target.schema, table.name)} (${columns}) OVERRIDING SYSTEM VALUE
     SELECT ${columnsFromRowJson(table, json)} FROM jsonb_populate_recordset(NULL::${qualified(target.schema, table.name)}, $1::jsonb) AS r
     ON CONFLICT (${table.primaryKey.map((c) => escapeIdentifier(c)).join(', ')})
     ${updates.length ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'}`,
    [jsonArray(rows)],
  );
  return rowCount ?? 0;
}

async function deleteRows(target: Side, table: TenantTable, keys: string[]): Promise<number> {
  const { rowCount } = await target.client.query(
    `DELETE FROM ${qualified(target.schema, table.name)} AS t
      USING jsonb_populate_recordset(NULL::${qualified(target.schema, table.name)}, $1::jsonb) AS k
      WHERE ${keyMatch('t', 'k', table)}`,
    [jsonArray(keys)],
  );
  return rowCount ?? 0;
}

async function verifyTables(source: Side, target: Side, tables: TenantTable[], tenantId: string) {
  const measure = async (side: Side) => {
    const out: Record<string, TableChecksum> = {};
    for (const table of tables) out[table.name] = await tableChecksum(side.client, side.schema, table, tenantId);
    return out;
  };
  const [ours, theirs] = await Promise.all([measure(source), measure(target)]);
  const mismatches = tables
    .filter((t) => ours[t.name]!.rows !== theirs[t.name]!.rows || ours[t.name]!.checksum !== theirs[t.name]!.checksum)
    .map((t) => `${t.name}: ${ours[t.name]!.rows} rows (checksum ${ours[t.name]!.checksum}) vs ${theirs[t.name]!.rows} (${theirs[t.name]!.checksum})`);
  if (mismatches.length) throw new MoveVerificationError(mismatches);
  return ours;
}

/** The source's row exactly for each applied key (compared as jsonb by PostgreSQL), or no row. */
async function verifyKeys(target: Side, applied: { table: TenantTable; present: string[]; gone: string[] }[], json: JsonColumns) {
  const mismatches: string[] = [];
  for (const { table, present, gone } of applied) {
    const name = qualified(target.schema, table.name);
    const { rows } = await target.client.query<{ differing: number; lingering: number }>(
      `SELECT (SELECT count(*)::int FROM jsonb_array_elements($1::jsonb) AS s(row)
                CROSS JOIN LATERAL jsonb_populate_record(NULL::${name}, s.row) AS p
                LEFT JOIN ${name} AS t ON ${keyMatch('t', 'p', table)}
               WHERE ${rowJson('t', json.get(table.name))} IS DISTINCT FROM s.row) AS differing,
              (SELECT count(*)::int FROM jsonb_populate_recordset(NULL::${name}, $2::jsonb) AS k
                JOIN ${name} AS t ON ${keyMatch('t', 'k', table)}) AS lingering`,
      [jsonArray(present), jsonArray(gone)],
    );
    const { differing, lingering } = rows[0]!;
    if (differing || lingering) mismatches.push(`${table.name}: ${differing} rows differ, ${lingering} deleted rows remain`);
  }
  if (mismatches.length) throw new MoveVerificationError(mismatches);
}
