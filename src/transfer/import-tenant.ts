/**
 * Loads an archive into an empty tenant in one transaction, verifying counts, checksums and dates
 * before the commit; any refusal leaves the tenant empty. See docs/export-import.md.
 */
import { Readable } from 'node:stream';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import type { CatalogClient, Tenant } from '../catalog/catalog-client.js';
import { replaceLoginRoutes } from '../auth/login-index.js';
import { MigrationError, readHistory } from '../migrations/apply-migrations.js';
import type { MigrationFolder } from '../migrations/migration-files.js';
import { withOwnerConnection } from '../servers/server-access.js';
import type { ProvisioningDeps } from '../tenants/provision-tenant.js';
import { ArchiveFormatError, ArchiveReader, decompressed, type ArchiveManifest } from './archive-format.js';
import { migrate, migrationsAfter, moveRows, scratchSchema, VersionGapError } from './archive-version.js';
import { copyIn, countRows, type Location } from './copy-table.js';
import type { ExportDeps } from './export-tenant.js';
import { tableChecksum } from './table-checksum.js';
import { assertRenderableTimes } from './renderable-times.js';
import { dataColumns, isSessionTable, tenantColumn, tenantTables, type TenantTable } from './tenant-tables.js';
import { inTenantTransaction } from './tenant-transaction.js';
import { TransferStateError, type TransferProgress } from './transfer-progress.js';

export interface ImportDeps extends ExportDeps {
  catalog: CatalogClient;
  provisioning: Pick<ProvisioningDeps, 'tenantMigrations'>;
}

export interface ImportOptions {
  onProgress?: (event: TransferProgress) => void;
}

export interface ImportResult {
  manifest: ArchiveManifest;
  rows: number;
  tables: { name: string; rows: number }[];
}

export class ImportRefusedError extends Error {
  constructor(
    readonly reason: 'not-empty' | 'version',
    message: string,
  ) {
    super(message);
    this.name = 'ImportRefusedError';
  }
}

export class ImportVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportVerificationError';
  }
}

/** SQLSTATE classes 22 (bad value) and 23 (constraint): the archive's fault. */
const isDataError = (err: unknown) => /^2[23]/.test((err as { code?: string }).code ?? '');

export async function importTenant(
  deps: ImportDeps,
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
  const server = await deps.servers.byId(tenant.serverId);
  return withOwnerConnection(server, tenant.databaseName, (client) =>
    inTenantTransaction(client, tenant.id, async () => {
      // Two imports into one tenant would both find it empty; the second waits, then finds rows.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`strata.import.${tenant.id}`]);
      const current = (await readHistory(client, tenant.schemaName)).map((m) => m.name);
      let versions: ReturnType<typeof migrationsAfter>;
      try {
        versions = migrationsAfter(manifest.migrations, current, deps.provisioning.tenantMigrations);
      } catch (err) {
        if (err instanceof VersionGapError) throw new ImportRefusedError('version', `tenant ${tenant.slug}: ${err.message}`);
        throw err;
      }
      const targetTables = await tenantTables(client, tenant.schemaName);
      await assertEmpty(client, tenant, targetTables);
      const scratch = versions.later.length ? await scratchSchema(client, versions.atArchive) : undefined;
      const location = { client, schema: scratch ?? tenant.schemaName };
      const tables = matchTables(scratch ? await tenantTables(client, scratch) : targetTables, manifest);
      const loaded = await loadSections(reader, location, tables, manifest, tenant, report);
      await reader.end();
      await verifyChecksums(location, tables, manifest, tenant.id);
      if (scratch) await bringForward(client, scratch, versions.later, tenant, targetTables);
      await assertRenderableTimes(client, tenant.schemaName, targetTables, tenant.id);
      await routeImportedUsers(deps.catalog, client, tenant);
      return { manifest, rows: loaded.reduce((n, t) => n + t.rows, 0), tables: loaded };
    }),
  );
}

async function assertEmpty(client: pg.ClientBase, tenant: Tenant, tables: TenantTable[]) {
  for (const table of tables) {
    const { rowCount } = await client.query(
      `SELECT 1 FROM ${escapeIdentifier(tenant.schemaName)}.${escapeIdentifier(table.name)} WHERE ${escapeIdentifier(tenantColumn)} = $1 LIMIT 1`,
      [tenant.id],
    );
    if (rowCount) throw new ImportRefusedError('not-empty', `tenant ${tenant.slug} already has rows in ${table.name}; import needs an empty tenant`);
  }
}

async function loadSections(
  reader: ArchiveReader,
  location: Location,
  tables: (TenantTable | undefined)[],
  manifest: ArchiveManifest,
  tenant: Tenant,
  report: (event: TransferProgress) => void,
): Promise<ImportResult['tables']> {
  const toLoad = manifest.tables.filter((_, i) => tables[i]);
  report({ event: 'import.started', tenant: tenant.slug, tables: toLoad.length, rows: toLoad.reduce((n, t) => n + t.rows, 0) });
  const loaded: ImportResult['tables'] = [];
  for (const [i, table] of tables.entries()) {
    const entry = manifest.tables[i]!;
    if (!table) {
      // Older archives carry refresh tokens: read past them, never load them.
      for await (const _ of reader.section(entry.name));
      continue;
    }
    let reported = 0;
    const onRows = (rows: number) => {
      report({ event: 'import.rows', table: table.name, rows, advance: rows - reported });
      reported = rows;
    };
    let rows: number;
    try {
      rows = await copyIn(location, table, tenant.id, Readable.from(countRows(reader.section(entry.name), onRows)), entry.columns);
    } catch (err) {
      if (isDataError(err)) throw new ArchiveFormatError(`${table.name}: ${(err as Error).message}`);
      throw err;
    }
    if (rows !== entry.rows) throw new ImportVerificationError(`${table.name}: the archive holds ${rows} rows, its manifest says ${entry.rows}`);
    loaded.push({ name: table.name, rows });
    report({ event: 'import.table', table: table.name, rows });
  }
  return loaded;
}

async function verifyChecksums(location: Location, tables: (TenantTable | undefined)[], manifest: ArchiveManifest, tenantId: string) {
  for (const [i, table] of tables.entries()) {
    if (!table) continue;
    const { checksum } = await tableChecksum(location.client, location.schema, table, tenantId);
    if (checksum !== manifest.tables[i]!.checksum) {
      throw new ImportVerificationError(`${table.name}: the loaded rows do not match the manifest's checksum (the archive was altered or damaged)`);
    }
  }
}

async function bringForward(client: pg.ClientBase, scratch: string, later: MigrationFolder[], tenant: Tenant, targetTables: TenantTable[]) {
  try {
    await migrate(client, scratch, later);
  } catch (err) {
    if (err instanceof MigrationError) throw new ImportRefusedError('version', `the archive's rows could not be brought forward: ${err.message}`);
    throw err;
  }
  await moveRows(client, scratch, tenant.schemaName, targetTables, tenant.id);
  await client.query(`DROP SCHEMA ${escapeIdentifier(scratch)} CASCADE`);
}

/**
 * The login index must list exactly the imported active users. Written before the tenant commits:
 * if that fails, routes lead to missing users, costing a login a password check.
 */
async function routeImportedUsers(catalog: CatalogClient, client: pg.ClientBase, tenant: Tenant) {
  const { rows } = await client.query<{ email: string }>(
    `SELECT email FROM ${escapeIdentifier(tenant.schemaName)}.users WHERE ${escapeIdentifier(tenantColumn)} = $1 AND status = 'active'`,
    [tenant.id],
  );
  await replaceLoginRoutes(
    catalog,
    tenant.id,
    rows.map((u) => u.email),
  );
}

/** Undefined for a skipped session table. */
function matchTables(locationTables: TenantTable[], manifest: ArchiveManifest): (TenantTable | undefined)[] {
  const names = (list: { name: string }[]) =>
    list
      .filter((t) => !isSessionTable(t.name))
      .map((t) => t.name)
      .join(', ');
  if (names(locationTables) !== names(manifest.tables)) {
    throw new ArchiveFormatError(`the archive has tables ${names(manifest.tables)}; the tenant has ${names(locationTables)} (in that order)`);
  }
  const byName = new Map(locationTables.map((t) => [t.name, t]));
  return manifest.tables.map((entry) => {
    if (isSessionTable(entry.name)) return undefined;
    const table = byName.get(entry.name)!;
    const archived = [...entry.columns].sort().join(', ');
    const expected = dataColumns(table).sort().join(', ');
    if (archived !== expected) throw new ArchiveFormatError(`${table.name}: the archive has columns ${archived}; the tenant has ${expected}`);
    return table;
  });
}
