/**
 * Streaming COPY text of a tenant's rows out of and into a location (export, import, tier moves),
 * inside `inTenantTransaction`. Reads filter on tenant_id; tenant_id is never copied: the target's
 * column default, `app.tenant_id`, fills it, which rewrites rows to the target tenant.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { assertTenantTransaction } from './tenant-transaction.js';
import { dataColumns, tenantColumn, type TenantTable } from './tenant-tables.js';

/** One side of a copy: a connection in the tenant's transaction, and a schema. */
export interface Location {
  client: pg.ClientBase;
  schema: string;
}

const qualified = (schema: string, table: TenantTable) => `${escapeIdentifier(schema)}.${escapeIdentifier(table.name)}`;
const columnList = (columns: string[]) => columns.map((c) => escapeIdentifier(c)).join(', ');

/**
 * The tenant's rows of `table` as COPY text. If the reader stops early, the rest is drained: a
 * destroyed stream leaves the connection paused mid-COPY, and the ROLLBACK behind it never runs.
 */
export async function copyOut(location: Location, table: TenantTable, tenantId: string, columns = dataColumns(table)): Promise<AsyncGenerator<Buffer>> {
  await assertTenantTransaction(location.client, tenantId);
  checkColumns(table, columns);
  const stream = location.client.query(
    copyTo(
      `COPY (SELECT ${columnList(columns)} FROM ${qualified(location.schema, table)}
              WHERE ${escapeIdentifier(tenantColumn)} = ${escapeLiteral(tenantId)}) TO STDOUT`,
    ),
  );
  return (async function* () {
    let complete = false;
    try {
      for await (const chunk of stream.iterator({ destroyOnReturn: false })) yield chunk as Buffer;
      complete = true;
    } finally {
      if (!complete && !stream.destroyed) stream.resume();
    }
  })();
}

/**
 * Loads COPY text rows into `table`; resolves to the rows inserted. COPY FROM refuses a table under
 * forced row security, so rows are staged in a temporary table, then moved by one INSERT … SELECT.
 */
export async function copyIn(location: Location, table: TenantTable, tenantId: string, rows: Readable, columns = dataColumns(table)): Promise<number> {
  await assertTenantTransaction(location.client, tenantId);
  checkColumns(table, columns);
  const { client } = location;
  const list = columnList(columns);
  const stage = escapeIdentifier(`_strata_stage_${table.name}`);
  await client.query(`CREATE TEMP TABLE ${stage} ON COMMIT DROP AS SELECT ${list} FROM ${qualified(location.schema, table)} WITH NO DATA`);
  await pipeline(rows, client.query(copyFrom(`COPY ${stage} (${list}) FROM STDIN`)));
  const { rowCount } = await client.query(`INSERT INTO ${qualified(location.schema, table)} (${list}) OVERRIDING SYSTEM VALUE SELECT ${list} FROM ${stage}`);
  await client.query(`DROP TABLE ${stage}`);
  return rowCount ?? 0;
}

/**
 * Copies the tenant's rows of `table` between locations; `onRows` hears the running count. After a
 * failure the source connection may still be in COPY: end it rather than reuse it.
 */
export async function copyTable(options: {
  source: Location;
  target: Location;
  table: TenantTable;
  tenantId: string;
  onRows?: (copied: number) => void;
}): Promise<number> {
  const { source, target, table, tenantId } = options;
  const out = await copyOut(source, table, tenantId);
  return copyIn(target, table, tenantId, Readable.from(options.onRows ? countRows(out, options.onRows) : out));
}

/**
 * Passes COPY text through, counting lines (COPY escapes newlines in values) and reporting every
 * `everyRows` rows and at the end. A generator, not a Transform, so source errors reach the reader.
 */
export async function* countRows(source: AsyncIterable<Buffer>, onRows: (rows: number) => void, everyRows = 10_000): AsyncGenerator<Buffer> {
  let rows = 0;
  let reported = 0;
  for await (const chunk of source) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
    if (rows - reported >= everyRows) {
      reported = rows;
      onRows(rows);
    }
    yield chunk;
  }
  onRows(rows);
}

function checkColumns(table: TenantTable, columns: string[]) {
  const known = new Set(dataColumns(table));
  const unknown = columns.filter((c) => !known.has(c));
  if (unknown.length || new Set(columns).size !== columns.length) {
    throw new Error(`columns ${JSON.stringify(columns)} do not fit table ${table.name} (${[...known].join(', ')})`);
  }
}
