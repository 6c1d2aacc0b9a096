/**
 * A tenant's data as an archive (./archive-format.ts), read in one REPEATABLE READ snapshot so
 * the manifest describes exactly the rows written. Session tables are left out.
 */
import type { Writable } from 'node:stream';
import type { Tenant } from '../catalog/catalog-client.js';
import type { ServerDirectory } from '../catalog/server-directory.js';
import { readHistory } from '../migrations/apply-migrations.js';
import { withOwnerConnection } from '../servers/server-access.js';
import { archiveHeader, sectionEnd, type ArchiveManifest } from './archive-format.js';
import { copyOut, countRows } from './copy-table.js';
import { tableChecksum } from './table-checksum.js';
import { dataColumns, isSessionTable, tenantTables } from './tenant-tables.js';
import { inTenantTransaction } from './tenant-transaction.js';
import { TransferStateError, type TransferProgress } from './transfer-progress.js';

export interface ExportDeps {
  servers: Pick<ServerDirectory, 'byId'>;
}

export interface ExportOptions {
  onProgress?: (event: TransferProgress) => void;
}

/** Refuses a tenant still provisioning: its storage may not exist yet. */
export function assertExportable(tenant: Tenant): void {
  if (tenant.status === 'provisioning') throw new TransferStateError(`tenant ${tenant.slug} is still being provisioned`);
}

/** Leaves `out` open: the caller ends it. */
export async function exportTenant(deps: ExportDeps, tenant: Tenant, out: NodeJS.WritableStream, options: ExportOptions = {}): Promise<ArchiveManifest> {
  assertExportable(tenant);
  const report = options.onProgress ?? (() => undefined);
  const server = await deps.servers.byId(tenant.serverId);
  return withOwnerConnection(server, tenant.databaseName, (client) =>
    inTenantTransaction(
      client,
      tenant.id,
      async () => {
        const location = { client, schema: tenant.schemaName };
        const tables = (await tenantTables(client, tenant.schemaName)).filter((table) => !isSessionTable(table.name));
        const manifest: ArchiveManifest = {
          format: 'strata-tenant-archive',
          formatVersion: 1,
          exportedAt: new Date().toISOString(),
          tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name, plan: tenant.plan },
          source: { tier: tenant.tier, server: server.name },
          migrations: (await readHistory(client, tenant.schemaName)).map((m) => m.name),
          tables: [],
        };
        // Checksums first (same snapshot), so the manifest can lead the archive.
        for (const table of tables) {
          manifest.tables.push({ name: table.name, columns: dataColumns(table), ...(await tableChecksum(client, tenant.schemaName, table, tenant.id)) });
        }
        report({ event: 'export.started', tenant: tenant.slug, tables: tables.length, rows: totalRows(manifest) });
        await write(out, archiveHeader(manifest));
        for (const [i, table] of tables.entries()) {
          const expected = manifest.tables[i]!.rows;
          let written = 0;
          let reported = 0;
          const onRows = (rows: number) => {
            report({ event: 'export.rows', table: table.name, rows, advance: rows - reported });
            reported = rows;
            written = rows;
          };
          for await (const chunk of countRows(await copyOut(location, table, tenant.id), onRows)) await write(out, chunk);
          if (written !== expected) throw new Error(`${table.name}: wrote ${written} rows, the snapshot counted ${expected}`);
          await write(out, sectionEnd);
          report({ event: 'export.table', table: table.name, rows: written });
        }
        return manifest;
      },
      { isolation: 'repeatable read', readOnly: true },
    ),
  );
}

export const totalRows = (manifest: ArchiveManifest) => manifest.tables.reduce((n, t) => n + t.rows, 0);

function write(out: NodeJS.WritableStream, chunk: Buffer | string): Promise<void> {
  // A destination that failed earlier has already emitted its error and close.
  if ((out as Writable).destroyed || (out as Writable).writableEnded) {
    return Promise.reject(new Error('the archive destination closed before the export finished'));
  }
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    const onClose = () => reject(new Error('the archive destination closed before the export finished'));
    const settle = () => {
      out.off('error', onError);
      out.off('close', onClose);
      resolve();
    };
    out.once('error', onError);
    out.once('close', onClose);
    if (out.write(chunk)) settle();
    else out.once('drain', settle);
  });
}
