/**
 * Streams a tenant's rows as COPY text, inside `inTenantTransaction`. Reads filter on tenant_id and
 * never copy it: the target's column default, `app.tenant_id`, fills it for the target tenant.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { assertTenantTransaction } from './tenant-transaction.js';
import { dataColumns, tenantColumn, type TenantTable } from './tenant-tables.js';

export interface Location {
  client: pg.ClientBase;
  schema: string;
}

const qualified = (schema: string, table: TenantTable) => `${escapeIdentifier(schema)}.${escapeIdentifier(table.name)}`;
const columnList = (columns: string[]) => columns.map((c) => escapeIdentifier(c)).join(', ');

/** If the reader stops early, the rest is drained: a destroyed stream leaves pg paused mid-COPY. */
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

/** COPY FROM refuses a table under forced row security, hence the staging table. */
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

/** After a failure the source connection may still be in COPY: end it rather than reuse it. */
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

/** Counts lines (COPY escapes newlines in values). A generator, so source errors reach the reader. */
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
