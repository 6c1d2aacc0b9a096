/**
 * Order-independent checksum of one tenant's rows in one table: the row count and the sum, as
 * numeric, of the first 64 bits of md5 over each row's text. Identical row sets give identical
 * results on any tier and server; other tenants' rows (pooled tier) never enter it.
 */
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { assertTenantTransaction } from './tenant-transaction.js';
import { dataColumns, tenantColumn, type TenantTable } from './tenant-tables.js';

export interface TableChecksum {
  rows: number;
  checksum: string;
}

/**
 * Runs inside `inTenantTransaction(client, tenantId, …)`. tenant_id is left out of the row text, so
 * a clone (same rows under another tenant id) checksums like its original; columns are taken in
 * name order, so the physical column order of a location does not matter.
 */
export async function tableChecksum(client: pg.ClientBase, schema: string, table: TenantTable, tenantId: string): Promise<TableChecksum> {
  await assertTenantTransaction(client, tenantId);
  const columns = dataColumns(table)
    .sort()
    .map((c) => escapeIdentifier(c))
    .join(', ');
  const { rows } = await client.query<{ rows: string; checksum: string }>(
    `SELECT count(*)::text AS rows,
            coalesce(sum(('x' || left(md5(ROW(${columns})::text), 16))::bit(64)::bigint), 0)::text AS checksum
       FROM ${escapeIdentifier(schema)}.${escapeIdentifier(table.name)}
      WHERE ${escapeIdentifier(tenantColumn)} = $1::uuid`,
    [tenantId],
  );
  return { rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
}
