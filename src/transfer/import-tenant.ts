/**
 * Import: loads a Strata tenant archive (./archive-format.ts) into an empty tenant on any tier,
 * as a restore or a clone. Everything happens in one transaction: the archive must match the
 * tenant's migration version and tables, every table is loaded by streaming COPY (rows take the
 * target tenant's id), and the counts and checksums of the loaded rows must equal the manifest's
 * before it commits. Any refusal or failure rolls back, leaving the tenant as empty as it was.
 */
import { Readable } from 'node:stream';
import { escapeIdentifier } from 'pg';
import type { Tenant } from '../catalog/catalog-client.js';
import { readHistory } from '../migrations/apply-migrations.js';
import type { Platform } from '../platform/platform.js';
import { withOwnerConnection } from '../servers/server-access.js';
import { ArchiveFormatError, ArchiveReader, decompressed, type ArchiveManifest } from './archive-format.js';
import { copyIn, countRows } from './copy-table.js';
import { totalRows } from './export-tenant.js';
import { tableChecksum } from './table-checksum.js';
import { dataColumns, tenantColumn, tenantTables, type TenantTable } from './tenant-tables.js';
import { inTenantTransaction } from './tenant-transaction.js';
import { TransferStateError, type TransferProgress } from './transfer-progress.js';

export interface ImportOptions {
  onProgress?: (event: TransferProgress) => void;
}

export interface ImportResult {
  manifest: ArchiveManifest;
  rows: number;
  tables: { name: string; rows: number }[];
}

/** The archive cannot go into this tenant (it is not empty, or is at another schema version). */
export class ImportRefusedError extends Error {
  constructor(
    readonly reason: 'not-empty' | 'version',
    message: string,
  ) {
    super(message);
    this.name = 'ImportRefusedError';
  }
}

/** The loaded rows are not the ones the manifest describes (tampered or damaged archive). */
export class ImportVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportVerificationError';
  }
}

/** Rows an archive may hold that PostgreSQL rejects: bad values (class 22) or broken constraints (23). */
const isDataError = (err: unknown) => /^2[23]/.test((err as { code?: string }).code ?? '');

export async function importTenant(
  platform: Platform,
  tenant: Tenant,
  input: AsyncIterable<Buffer | string>,
  options: ImportOptions = {},
): Promise<ImportResult> {
  if (tenant.status !== 'active' && tenant.status !== 'suspended') {
    throw new TransferStateError(`tenant ${tenant.slug} is ${tenant.status}; import needs an active or suspended tenant`);
  }
  const report = options.onProgress ?? (() => undefined);
  const reader = new ArchiveReader(decompressed(input));
  const manifest = await reader.manifest();
  const server = await platform.servers.byId(tenant.serverId);
  return withOwnerConnection(server, tenant.databaseName, (client) =>
    inTenantTransaction(client, tenant.id, async () => {
      const location = { client, schema: tenant.schemaName };
      // Two imports into one tenant would both find it empty; the second waits, then finds rows.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`strata.import.${tenant.id}`]);
      const migrations = (await readHistory(client, tenant.schemaName)).map((m) => m.name);
      if (migrations.join('\n') !== manifest.migrations.join('\n')) {
        throw new ImportRefusedError(
          'version',
          `the archive was taken at migration ${manifest.migrations.at(-1) ?? '(none)'} (${manifest.migrations.length} applied), ` +
            `tenant ${tenant.slug} is at ${migrations.at(-1) ?? '(none)'} (${migrations.length} applied); migrate first`,
        );
      }
      const tables = matchTables(await tenantTables(client, tenant.schemaName), manifest);
      for (const table of tables) {
        const { rowCount } = await client.query(
          `SELECT 1 FROM ${escapeIdentifier(location.schema)}.${escapeIdentifier(table.name)} WHERE ${escapeIdentifier(tenantColumn)} = $1 LIMIT 1`,
          [tenant.id],
        );
        if (rowCount) throw new ImportRefusedError('not-empty', `tenant ${tenant.slug} already has rows in ${table.name}; import needs an empty tenant`);
      }

      report({ event: 'import.started', tenant: tenant.slug, tables: tables.length, rows: totalRows(manifest) });
      const loaded: ImportResult['tables'] = [];
      for (const [i, table] of tables.entries()) {
        const entry = manifest.tables[i]!;
        let reported = 0;
        const onRows = (rows: number) => {
          report({ event: 'import.rows', table: table.name, rows, advance: rows - reported });
          reported = rows;
        };
        let rows: number;
        try {
          rows = await copyIn(location, table, tenant.id, Readable.from(countRows(reader.section(), onRows)), entry.columns);
        } catch (err) {
          if (isDataError(err)) throw new ArchiveFormatError(`${table.name}: ${(err as Error).message}`);
          throw err;
        }
        if (rows !== entry.rows) throw new ImportVerificationError(`${table.name}: the archive holds ${rows} rows, its manifest says ${entry.rows}`);
        loaded.push({ name: table.name, rows });
        report({ event: 'import.table', table: table.name, rows });
      }
      await reader.end();
      for (const [i, table] of tables.entries()) {
        const { checksum } = await tableChecksum(client, tenant.schemaName, table, tenant.id);
        if (checksum !== manifest.tables[i]!.checksum) {
          throw new ImportVerificationError(`${table.name}: the loaded rows do not match the manifest's checksum (the archive was altered or damaged)`);
        }
      }
      return { manifest, rows: totalRows(manifest), tables: loaded };
    }),
  );
}

/** The target's tables in the archive's order; same version means the same tables and columns. */
function matchTables(targetTables: TenantTable[], manifest: ArchiveManifest): TenantTable[] {
  const names = (list: { name: string }[]) => list.map((t) => t.name).join(', ');
  if (names(targetTables) !== names(manifest.tables)) {
    throw new ArchiveFormatError(`the archive has tables ${names(manifest.tables)}; the tenant has ${names(targetTables)} (in that order)`);
  }
  return targetTables.map((table, i) => {
    const archived = [...manifest.tables[i]!.columns].sort().join(', ');
    const expected = dataColumns(table).sort().join(', ');
    if (archived !== expected) throw new ArchiveFormatError(`${table.name}: the archive has columns ${archived}; the tenant has ${expected}`);
    return table;
  });
}
