import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { reserveTenant } from '../../src/tenants/provision-tenant.js';
import { archiveMediaType } from '../../src/transfer/archive-format.js';
import { adminToken, bearer, provision, startTestPlatform, testApp, tiers, tokenFor } from '../helper.js';
import { superuserClient } from '../support/superuser.js';
import { archivedRows, asRestored, seedTenantRows, tenantChecksums } from '../support/tenant-rows.js';

const maxBytes = 96 * 1024;
const platform = await startTestPlatform(t, { STRATA_IMPORT_MAX_BYTES: String(maxBytes) });
const app = await testApp(t, platform);
const admin = bearer(await adminToken(platform));
const leads = 150;
const source = await provision(platform, 'pooled', 'source');
await seedTenantRows(platform, source, leads);
const neighbour = await provision(platform, 'pooled', 'neighbour');
await seedTenantRows(platform, neighbour, 30);

const exportOf = (id: string, headers: Record<string, string> = admin) => app.inject({ method: 'GET', url: `/admin/tenants/${id}/export`, headers });
const importInto = (id: string, payload: Buffer | Readable | string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/admin/tenants/${id}/import`, headers: { ...admin, 'content-type': archiveMediaType, ...headers }, payload });
const totalSeeded = archivedRows(leads);

let archive: Buffer;

t.test('export needs an admin: no token or a tenant token gets 401', async (t) => {
  for (const headers of [{}, bearer(tokenFor(platform, source, 'owner'))]) {
    const res = await exportOf(source.id, headers);
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'STRATA_AUTH_UNAUTHENTICATED');
  }
  const res = await importInto(source.id, 'x', { authorization: `Bearer ${tokenFor(platform, source, 'owner')}` });
  t.equal(res.statusCode, 401, 'import too');
});

t.test('GET /admin/tenants/:id/export streams the archive as an attachment, and is audited', async (t) => {
  const res = await exportOf(source.id);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], archiveMediaType);
  t.match(res.headers['content-disposition'], /^attachment; filename="source-pooled-\d{4}-\d{2}-\d{2}T\d{6}Z\.strata"$/);
  archive = res.rawPayload;
  const manifest = JSON.parse(archive.toString('utf8').split('\n')[1]!);
  t.equal(manifest.tenant.id, source.id);
  t.equal(
    manifest.tables.reduce((n: number, x: { rows: number }) => n + x.rows, 0),
    totalSeeded,
    "the source's rows only, not its neighbour's",
  );
  const audit = await platform.catalog.adminAuditEvent.findMany({ where: { tenantId: source.id, action: 'tenant.export' } });
  t.equal(audit.length, 1);
  t.match(audit[0]!.details, { rows: totalSeeded });
});

t.test('an unknown tenant is 404, a malformed id 400', async (t) => {
  t.equal((await exportOf('6f1c2a4e-0000-4000-8000-000000000000')).statusCode, 404);
  t.equal((await exportOf('nope')).statusCode, 400);
});

t.test('POST /admin/tenants/:id/import restores the archive into an empty tenant on every tier', async (t) => {
  for (const tier of tiers) {
    const target = await provision(platform, tier, 'restored');
    // A stream without content-length, as curl -T sends it.
    const res = await importInto(target.id, Readable.from([archive.subarray(0, 1000), archive.subarray(1000)]), { 'content-type': 'application/octet-stream' });
    t.equal(res.statusCode, 200, res.body);
    t.match(res.json(), { tenantId: target.id, rows: totalSeeded, source: { tenant: 'source-pooled', tier: 'pooled' } });
    t.same(await tenantChecksums(platform, target), asRestored(await tenantChecksums(platform, source)), `${tier}: same counts and checksums`);
    const audit = await platform.catalog.adminAuditEvent.findMany({ where: { tenantId: target.id, action: 'tenant.import' } });
    t.match(audit[0]?.details, { rows: totalSeeded, fromTenantId: source.id });

    const again = await importInto(target.id, archive);
    t.equal(again.statusCode, 409, `${tier}: a second import is refused`);
    t.equal(again.json().code, 'STRATA_TRANSFER_TENANT_NOT_EMPTY');
    t.equal(again.headers['content-type'], 'application/problem+json; charset=utf-8');
  }
});

t.test('bad uploads get 4xx problems and leave the tenant empty', async (t) => {
  const target = await provision(platform, 'schema', 'bad-uploads');
  const tampered = Buffer.from(archive.toString('utf8').replace('\tLead 3\t', '\tLead 4\t'));
  const cases: [string, () => ReturnType<typeof importInto>, number, string][] = [
    ['tampered rows', () => importInto(target.id, tampered), 422, 'STRATA_TRANSFER_ARCHIVE_MISMATCH'],
    ['not an archive', () => importInto(target.id, 'hello'), 422, 'STRATA_TRANSFER_ARCHIVE_INVALID'],
    ['no body', () => importInto(target.id, ''), 422, 'STRATA_TRANSFER_ARCHIVE_INVALID'],
    ['JSON instead of an archive', () => importInto(target.id, '{"a":1}', { 'content-type': 'application/json' }), 415, 'STRATA_REQUEST_MEDIA_TYPE'],
    ['a declared length over the limit', () => importInto(target.id, Buffer.alloc(maxBytes + 1, 'x')), 413, 'STRATA_REQUEST_TOO_LARGE'],
    ['a stream growing past the limit', () => importInto(target.id, Readable.from([archive, Buffer.alloc(maxBytes, 'x')])), 413, 'STRATA_REQUEST_TOO_LARGE'],
  ];
  for (const [label, upload, status, code] of cases) {
    const res = await upload();
    t.equal(res.statusCode, status, label);
    t.equal(res.json().code, code, label);
  }
  t.ok(
    Object.values(await tenantChecksums(platform, target)).every((x) => x.rows === 0),
    'still empty',
  );
});

t.test('a tenant still being provisioned can be neither exported nor imported into (409)', async (t) => {
  const pending = await reserveTenant(platform.provisioning, { slug: 'half-made', name: 'half made', plan: 'free', tier: 'schema' });
  for (const res of [await exportOf(pending.id), await importInto(pending.id, archive)]) {
    t.equal(res.statusCode, 409);
    t.equal(res.json().code, 'STRATA_TENANT_STATE');
    t.match(res.json().detail, /half-made/);
  }
});

t.test('?gzip=true exports a gzip archive, which import recognises by itself', async (t) => {
  const res = await app.inject({ method: 'GET', url: `/admin/tenants/${source.id}/export?gzip=true`, headers: admin });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/gzip');
  t.match(res.headers['content-disposition'], /\.strata\.gz"$/);
  const gz = res.rawPayload;
  t.same([...gz.subarray(0, 2)], [0x1f, 0x8b]);
  t.ok(gunzipSync(gz).toString('utf8').startsWith('STRATA-TENANT-ARCHIVE 1\n'));
  t.ok(gz.length < archive.length / 2, `compressed ${archive.length} → ${gz.length} bytes`);

  const target = await provision(platform, 'dedicated', 'from-gzip');
  const damaged = await importInto(target.id, gz.subarray(0, gz.length - 40), { 'content-type': 'application/gzip' });
  t.equal(damaged.statusCode, 422, 'a cut-off gzip archive is refused');
  t.equal(damaged.json().code, 'STRATA_TRANSFER_ARCHIVE_INVALID');
  const ok = await importInto(target.id, gz, { 'content-type': 'application/gzip' });
  t.equal(ok.statusCode, 200, ok.body);
  t.same(await tenantChecksums(platform, target), asRestored(await tenantChecksums(platform, source)));
  const bad = await app.inject({ method: 'GET', url: `/admin/tenants/${source.id}/export?gzip=yes`, headers: admin });
  t.equal(bad.statusCode, 400, 'gzip is true or false');
});

t.test('an export whose audit record cannot be written is cut off: no whole archive leaves unrecorded', async (t) => {
  const catalogDb = await superuserClient(t, `${platform.config.database.prefix}_catalog`);
  // A real fault of the catalog: the audit insert of this one export fails.
  await catalogDb.query(`CREATE FUNCTION fail_export_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.action = 'tenant.export' AND NEW.tenant_id = '${neighbour.id}' THEN RAISE EXCEPTION 'injected: audit trail unavailable'; END IF;
      RETURN NEW; END $$;
    CREATE TRIGGER fail_export_audit BEFORE INSERT ON admin_audit_events FOR EACH ROW EXECUTE FUNCTION fail_export_audit()`);
  try {
    const received = await exportOf(neighbour.id).then(
      (res) => res.rawPayload,
      () => Buffer.alloc(0),
    );
    const target = await provision(platform, 'pooled', 'from-unaudited');
    const restore = await importInto(target.id, received);
    t.equal(restore.statusCode, 422, `what arrived (${received.length} bytes) is refused as an archive`);
    t.equal(restore.json().code, 'STRATA_TRANSFER_ARCHIVE_INVALID');
    t.equal(await platform.catalog.adminAuditEvent.count({ where: { tenantId: neighbour.id, action: 'tenant.export' } }), 0);
  } finally {
    await catalogDb.query('DROP TRIGGER fail_export_audit ON admin_audit_events; DROP FUNCTION fail_export_audit()');
  }
  const res = await exportOf(neighbour.id);
  t.equal(res.statusCode, 200, 'with the catalog well again, the export goes through');
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { tenantId: neighbour.id, action: 'tenant.export' } }), 1);
});
