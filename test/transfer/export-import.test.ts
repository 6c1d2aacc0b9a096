import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import t, { type Test } from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { ArchiveFormatError, archiveMagic } from '../../src/transfer/archive-format.js';
import { exportTenant } from '../../src/transfer/export-tenant.js';
import { importTenant, ImportRefusedError, ImportVerificationError } from '../../src/transfer/import-tenant.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';
import type { TransferProgress } from '../../src/transfer/transfer-progress.js';
import { adminUrl, provision, startTestPlatform, tiers, type Tier } from '../helper.js';
import { archivedCounts, archivedRows, asRestored, seedTenantRows, tenantChecksums } from '../support/tenant-rows.js';

const platform = await startTestPlatform(t);
const leads = 240;
const secret = 'BETA-ONLY-MARKER';

/** A seeded tenant per tier, next to a second tenant whose rows carry a marker that must never leak. */
const sources = {} as Record<Tier, Tenant>;
for (const tier of tiers) {
  sources[tier] = await provision(platform, tier, 'source');
  await seedTenantRows(platform, sources[tier], leads);
  const neighbour = await provision(platform, tier, 'neighbour');
  await seedTenantRows(platform, neighbour, 40);
  await ownerSql(neighbour, `UPDATE "${neighbour.schemaName}".leads SET name = name || ' ${secret}' WHERE tenant_id = '${neighbour.id}'`);
}

/** The owner bypasses row security, so statements here name their tenant as transfer steps do. */
async function ownerSql(tenant: Tenant, sql: string) {
  const server = await platform.servers.byId(tenant.serverId);
  await withOwnerConnection(server, tenant.databaseName, (client) => inTenantTransaction(client, tenant.id, () => client.query(sql)));
}

async function exportToBuffer(tenant: Tenant, events: TransferProgress[] = []) {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  const manifest = await exportTenant(platform, tenant, out, { onProgress: (e) => events.push(e) });
  return { manifest, archive: Buffer.concat(chunks) };
}

/** Small chunks, so section ends and headers straddle chunk boundaries as they do on a network. */
const chunked = (archive: Buffer, size = 997) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < archive.length; i += size) yield archive.subarray(i, i + size);
    })(),
  );

const isEmpty = async (t: Test, tenant: Tenant) => {
  const sums = await tenantChecksums(platform, tenant);
  t.same(
    Object.values(sums).map((s) => s.rows),
    Object.values(sums).map(() => 0),
    `${tenant.slug} has no rows`,
  );
};

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

const archives = {} as Record<Tier, Awaited<ReturnType<typeof exportToBuffer>>>;

t.test('export writes a manifest with counts, checksums, migrations and progress, on every tier', async (t) => {
  for (const tier of tiers) {
    const events: TransferProgress[] = [];
    archives[tier] = await exportToBuffer(sources[tier], events);
    const { manifest, archive } = archives[tier];
    t.ok(archive.toString('utf8', 0, 40).startsWith(`${archiveMagic}\n`), `${tier}: starts with the magic line`);
    t.equal(manifest.tenant.id, sources[tier].id);
    t.equal(manifest.source.tier, tier);
    t.same(manifest.migrations, platform.provisioning.tenantMigrations.map((m) => m.name).sort(), `${tier}: the applied tenant migrations`);
    const counts = Object.fromEntries(manifest.tables.map((x) => [x.name, x.rows]));
    t.same(counts, { ...Object.fromEntries(manifest.tables.map((x) => [x.name, 0])), ...archivedCounts(leads) }, `${tier}: row counts, no refresh tokens`);
    t.equal(counts.refresh_tokens, undefined, `${tier}: the refresh tokens stay behind`);
    t.notOk(
      manifest.tables.some((x) => x.columns.includes('tenant_id')),
      `${tier}: tenant_id is not exported`,
    );
    const { refresh_tokens: _sessions, ...live } = await tenantChecksums(platform, sources[tier]);
    t.same(
      Object.fromEntries(manifest.tables.map((x) => [x.name, { rows: x.rows, checksum: x.checksum }])),
      live,
      `${tier}: manifest checksums are the live ones`,
    );
    t.equal(events[0]?.event, 'export.started');
    const advanced = events.filter((e) => e.event === 'export.rows').reduce((n, e) => n + (e.advance as number), 0);
    t.equal(advanced, archivedRows(leads), `${tier}: progress advances by every row once`);
    t.notOk(archive.includes(secret), `${tier}: nothing of the neighbouring tenant is in the archive`);
    const id = sources[tier].id;
    t.ok(archive.indexOf(id) > 0 && archive.indexOf(id) === archive.lastIndexOf(id), `${tier}: the tenant id is in the manifest only, never in rows`);
  }
});

t.test('export from tier X, import into tier Y: identical counts and checksums, for all nine pairs', async (t) => {
  for (const from of tiers) {
    for (const to of tiers) {
      const target = await provision(platform, to, `from-${from}`);
      const events: TransferProgress[] = [];
      const result = await importTenant(platform, target, chunked(archives[from].archive), { onProgress: (e) => events.push(e) });
      t.equal(result.rows, archivedRows(leads), `${from} → ${to}: every row loaded`);
      t.same(await tenantChecksums(platform, target), asRestored(await tenantChecksums(platform, sources[from])), `${from} → ${to}: same counts and checksums`);
      t.ok(
        events.some((e) => e.event === 'import.table'),
        'import reports progress',
      );
      // The rows are the target's: the API (runtime role, the target's context) sees them.
      const db = platform.router.clientFor(target);
      const lead = await db.lead.findFirst({ where: { name: { startsWith: 'Lead 7\t' } } });
      t.match(lead, { tenantId: target.id, name: 'Lead 7\ttab \\ back\nline é 🚀' }, `${from} → ${to}: escaped text survives, tenant id rewritten`);
    }
  }
});

t.test('import into a tenant that has rows is refused and changes nothing', async (t) => {
  const target = sources.schema;
  const before = await tenantChecksums(platform, target);
  const err = await refusal(importTenant(platform, target, chunked(archives.pooled.archive)));
  t.type(err, ImportRefusedError);
  t.match(err, { reason: 'not-empty', message: /already has rows/ });
  t.same(await tenantChecksums(platform, target), before);
});

t.test('a tampered, truncated or mismatched archive is refused and the tenant stays empty', async (t) => {
  const { archive } = archives.dedicated;
  const text = archive.toString('utf8');
  const cases: [string, string | Buffer, new (...args: never[]) => Error, string?][] = [
    ['a changed value', text.replace('\tLead 5\t', '\tLead 6\t'), ImportVerificationError],
    ['a removed row', text.replace(/\n[^\n]*\tLead 5\t[^\n]*/, ''), ImportVerificationError],
    ['an added row', text.replace(/\n([0-9a-f-]{36})(\tLead 5\t[^\n]*)/, '\n$1$2\nfeedface-0000-4000-8000-000000000005$2'), ImportVerificationError],
    ['truncated', archive.subarray(0, Math.floor(archive.length * 0.6)), ArchiveFormatError],
    ['not an archive', 'hello\n', ArchiveFormatError],
    ['a manifest that is not JSON', `${archiveMagic}\n{nope\n`, ArchiveFormatError],
    ['an invalid value', text.replace(/\n[0-9a-f-]{36}(\tLead 5\t)/, '\nnot-a-uuid$1'), ArchiveFormatError],
    ['trailing data', `${text}more\n`, ArchiveFormatError],
    ["migrations other than the tenant's", text.replace(/"migrations":\["([^"]+)",/, '"migrations":['), ImportRefusedError, 'version'],
    ["a newer version than the tenant's", text.replace(/("migrations":\[[^\]]*)\]/, '$1,"29990101000000_future"]'), ImportRefusedError, 'version'],
    ['tenant_id smuggled in as a column', text.replace('"columns":["id",', '"columns":["tenant_id","id",'), ArchiveFormatError],
  ];
  for (const tier of tiers) {
    const target = await provision(platform, tier, 'tampered');
    for (const [label, body, type, reason] of cases) {
      const err = await refusal(importTenant(platform, target, chunked(Buffer.from(body))));
      t.type(err, type, `${tier}: ${label} is refused (${(err as Error | undefined)?.message})`);
      if (reason) t.match(err, { reason });
    }
    await isEmpty(t, target);
  }
});

t.test('an export whose destination fails mid-stream rejects promptly and releases its connection', async (t) => {
  const tenant = sources.pooled;
  let written = 0;
  const out = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, done) {
      written += chunk.length;
      // Fail once the rows are flowing, the way a client that hangs up does.
      if (written > 20_000) done(new Error('client went away'));
      else setTimeout(done, 1);
    },
  });
  out.on('error', () => undefined);
  const started = Date.now();
  await t.rejects(exportTenant(platform, tenant, out), /client went away|destination closed/);
  t.ok(Date.now() - started < 10_000, 'no hang');
  const server = await platform.servers.byId(tenant.serverId);
  const url = new URL(adminUrl());
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  t.teardown(() => admin.end());
  const { rows } = await admin.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND datname = $2 AND state <> 'idle' AND query ILIKE 'COPY%'`,
    [server.ownerRole, tenant.databaseName],
  );
  t.equal(rows[0].n, 0, 'no COPY left running');
});
