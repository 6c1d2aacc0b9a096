/**
 * Export/import benchmark (issue: admin API, item 7). For each tier as source and as target
 * (pooled → dedicated, schema → pooled, dedicated → schema), seeds a tenant with ~100k rows
 * (default 66,000 leads plus their users, deals, activities and tokens), then times in the same run:
 *   - exportTenant to a file (checksums + one snapshot + COPY out), and importTenant of that file
 *     into an empty tenant (staged COPY in + INSERT, FK checks, checksum verification, commit);
 *   - a plain superuser `COPY … TO STDOUT` of the same rows and `COPY … FROM STDIN` of them into
 *     another empty tenant: the floor the transfer is measured against.
 * `npm run bench -- transfer [--leads N]`
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg, { escapeIdentifier, escapeLiteral } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import type { Platform } from '../../src/platform/platform.js';
import type { Tier } from '../../src/tenants/placement.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { exportTenant, totalRows } from '../../src/transfer/export-tenant.js';
import { importTenant } from '../../src/transfer/import-tenant.js';
import { dataColumns, tenantTables, type TenantTable } from '../../src/transfer/tenant-tables.js';
import { seedTenantRows } from '../../test/support/tenant-rows.js';
import { round, timed, withBenchPlatform, writeResults } from './bench-kit.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== 'transfer'), options: { leads: { type: 'string', default: '66000' } } });
const leads = Number(values.leads);
const directions: [Tier, Tier][] = [
  ['pooled', 'dedicated'],
  ['schema', 'pooled'],
  ['dedicated', 'schema'],
];

/** A superuser connection to a tenant's database: no RLS, no staging, the plain COPY floor. */
async function superuser<T>(platform: Platform, tenant: Tenant, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(platform.adminUrl);
  url.pathname = `/${tenant.databaseName}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end();
  }
}

const list = (table: TenantTable) =>
  dataColumns(table)
    .map((c) => escapeIdentifier(c))
    .join(', ');
const qualified = (tenant: Tenant, table: TenantTable) => `${escapeIdentifier(tenant.schemaName)}.${escapeIdentifier(table.name)}`;

async function plainCopy(platform: Platform, source: Tenant, target: Tenant) {
  const tables = await superuser(platform, source, (client) => tenantTables(client, source.schemaName));
  const data = new Map<string, Buffer[]>();
  const out = await timed(() =>
    superuser(platform, source, async (client) => {
      for (const table of tables) {
        const chunks: Buffer[] = [];
        const stream = client.query(
          copyTo(`COPY (SELECT ${list(table)} FROM ${qualified(source, table)} WHERE tenant_id = ${escapeLiteral(source.id)}) TO STDOUT`),
        );
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        data.set(table.name, chunks);
      }
    }),
  );
  const into = await timed(() =>
    superuser(platform, target, async (client) => {
      for (const table of tables) {
        await pipeline(Readable.from(data.get(table.name)!), client.query(copyFrom(`COPY ${qualified(target, table)} (${list(table)}) FROM STDIN`)));
      }
    }),
  );
  return { outMs: out.ms, inMs: into.ms };
}

await withBenchPlatform('transfer', {}, async (platform) => {
  const provision = (slug: string, tier: Tier) => provisionTenant(platform.provisioning, { slug, name: slug, plan: 'free', tier });
  const rows: Record<string, string | number>[] = [];
  const data: unknown[] = [];
  for (const [from, to] of directions) {
    const source = await provision(`source-${from}`, from);
    await seedTenantRows(platform, source, leads);
    const file = join(tmpdir(), `strata-bench-transfer-${process.pid}-${from}.strata`);
    try {
      const exported = await timed(async () => {
        const out = createWriteStream(file);
        const manifest = await exportTenant(platform, source, out);
        out.end();
        await finished(out);
        return manifest;
      });
      const count = totalRows(exported.value);
      const bytes = (await stat(file)).size;
      const target = await provision(`target-${to}`, to);
      const imported = await timed(() => importTenant(platform, target, createReadStream(file)));
      if (imported.value.rows !== count) throw new Error(`imported ${imported.value.rows} rows, exported ${count}`);
      const plain = await plainCopy(platform, source, await provision(`plain-${to}`, to));
      const perSecond = (ms: number) => Math.round(count / (ms / 1000));
      const row = {
        'source → target': `${from} → ${to}`,
        rows: count,
        'archive MB': round(bytes / 1024 ** 2),
        'export s': round(exported.ms / 1000, 2),
        'export rows/s': perSecond(exported.ms),
        'import s': round(imported.ms / 1000, 2),
        'import rows/s': perSecond(imported.ms),
        'plain COPY out rows/s': perSecond(plain.outMs),
        'plain COPY in rows/s': perSecond(plain.inMs),
      };
      rows.push(row);
      data.push({ ...row, exportMs: exported.ms, importMs: imported.ms, plainOutMs: plain.outMs, plainInMs: plain.inMs, bytes });
      console.error(JSON.stringify(row));
    } finally {
      await rm(file, { force: true });
    }
  }
  await writeResults('transfer', {
    title: `Tenant export and import (${rows[0]?.rows ?? 0} rows per tenant)`,
    rows,
    notes: [
      'export: per-table checksums and row counts, then every table by COPY, in one REPEATABLE READ snapshot, to a file',
      'import: one transaction; COPY into a temporary table and one INSERT … SELECT per table (COPY FROM is refused under FORCE ROW LEVEL SECURITY, even for the owner), foreign keys checked, then counts and checksums verified before COMMIT',
      'plain COPY: a superuser (no RLS) COPY of the same rows out of the source and into another empty tenant, measured in the same run',
    ],
    data,
  });
});
