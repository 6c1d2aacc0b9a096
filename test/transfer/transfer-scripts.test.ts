import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { adminUrl, provision, startTestPlatform } from '../helper.js';
import { runScript } from '../support/run-script.js';
import { archivedRows, asRestored, seedTenantRows, tenantChecksums } from '../support/tenant-rows.js';

const platform = await startTestPlatform(t);
const dir = await mkdtemp(join(tmpdir(), 'strata-transfer-scripts-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const source = await provision(platform, 'schema', 'script-source');
await seedTenantRows(platform, source, 120);
const rows = archivedRows(120);

/** `npm run export|import -- …` against this test's installation. */
const run = (script: 'export' | 'import', args: string[]) =>
  runScript(script, args, { DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: platform.config.database.prefix, REDIS_URL: '' });

const events = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string; [k: string]: unknown });

t.test('npm run export writes the archive and reports progress as JSON lines', async (t) => {
  const file = join(dir, 'source.strata');
  const res = await run('export', ['--tenant', source.slug, '--out', file]);
  t.equal(res.code, 0, res.stderr);
  const lines = events(res.stdout);
  t.match(lines[0], { event: 'start', total: rows });
  t.ok(
    lines.some((e) => e.event === 'export.table'),
    'per-table progress',
  );
  t.match(lines.at(-1), { event: 'export.finished', tenant: source.slug, rows });
  t.ok((await stat(file)).size > 0);
  t.equal((await stat(file)).mode & 0o077, 0, 'the archive holds password hashes: readable by its owner only');
  await t.rejects(stat(`${file}.partial`), 'no partial file is left behind');
  t.equal(
    await platform.catalog.adminAuditEvent.count({ where: { tenantId: source.id, action: 'tenant.export', adminId: null } }),
    1,
    'audited as an operator action',
  );

  const target = await provision(platform, 'dedicated', 'script-target');
  const imported = await run('import', ['--tenant', target.slug, '--in', file]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(events(imported.stdout).at(-1), { event: 'import.finished', tenant: target.slug, from: source.slug, rows });
  t.same(await tenantChecksums(platform, target), asRestored(await tenantChecksums(platform, source)));

  const again = await run('import', ['--tenant', target.slug, '--in', file]);
  t.equal(again.code, 1, 'a refused import fails');
  t.match(again.stderr, /import refused, tenant script-target-dedicated unchanged: .*already has rows/);
});

t.test('usage errors: unknown tenant, missing flags', async (t) => {
  const unknown = await run('export', ['--tenant', 'no-such-tenant', '--out', join(dir, 'x.strata')]);
  t.equal(unknown.code, 64);
  t.match(unknown.stderr, /no tenant with slug "no-such-tenant"/);
  const missing = await run('import', ['--tenant', source.slug]);
  t.equal(missing.code, 64);
  t.match(missing.stderr, /usage: npm run import/);
  t.notOk(await readFile(join(dir, 'x.strata')).catch(() => null), 'nothing written for a refused export');
});

t.test('--gzip writes a compressed archive that import reads as it is', async (t) => {
  const file = join(dir, 'source.strata.gz');
  const res = await run('export', ['--tenant', source.slug, '--out', file, '--gzip']);
  t.equal(res.code, 0, res.stderr);
  t.same([...(await readFile(file)).subarray(0, 2)], [0x1f, 0x8b], 'gzip bytes');
  const target = await provision(platform, 'pooled', 'script-gzip');
  const imported = await run('import', ['--tenant', target.slug, '--in', file]);
  t.equal(imported.code, 0, imported.stderr);
  t.same(await tenantChecksums(platform, target), asRestored(await tenantChecksums(platform, source)));
});
