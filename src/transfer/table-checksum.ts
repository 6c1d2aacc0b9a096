/**
 * Order-independent checksum: the row count and the sum of the first 64 bits of each row text's
 * md5. The row text leaves out tenant_id, so a clone checksums like its original, and takes
 * columns in name order, so their physical order does not matter.
 */
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { assertTenantTransaction } from './tenant-transaction.js';
import { dataColumns, tenantColumn, type TenantTable } from './tenant-tables.js';

export interface TableChecksum {
  rows: number;
  checksum: string;
}

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
