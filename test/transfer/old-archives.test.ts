/**
 * Regression: archives taken before a deploy could never be restored. A tenant deleted before a
 * migration is skipped by `migrate`; its purge archive, at the older version, was refused by every
 * import (409 version mismatch). Now it is loaded at its own version and brought forward with the
 * normal migrations, all or nothing, on every tier.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { applyMigrations } from '../../src/migrations/apply-migrations.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { archiveMediaType } from '../../src/transfer/archive-format.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';
import { adminUrl, provision, startTestPlatform, tiers } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';
import { decodeClaims } from '../support/live-api.js';
import { runScript } from '../support/run-script.js';
import { tenantChecksums } from '../support/tenant-rows.js';

const exportDir = await mkdtemp(join(tmpdir(), 'strata-old-archives-'));
t.teardown(() => rm(exportDir, { recursive: true, force: true }));
const platform = await startTestPlatform(t, { STRATA_PURGE_EXPORT_DIR: exportDir, STRATA_SPARE_SCHEMAS: '0' });
const live = await liveAdmin(t, platform);
const { api } = live;
const admin = await live.adminLogin();
const migrations = platform.provisioning.tenantMigrations;
// Before the migration that turned enums into text domains: a real schema change lies between.
const older = migrations.filter((m) => m.name < '20261123010000');

const ownerQuery = async <T>(tenant: Tenant, fn: (client: import('pg').ClientBase) => Promise<T>) =>
  withOwnerConnection(await platform.servers.byId(tenant.serverId), tenant.databaseName, fn);

/**
 * A schema tenant as it was before the deploy: created through the API, then its schema rebuilt
 * from only the older migration files (as if the later ones did not exist yet) with its owner
 * (same email and password hash), a lead, a deal and an activity.
 */
async function tenantBeforeDeploy() {
  const created = await api('POST', '/admin/tenants', {
    token: admin,
    body: { slug: 'before-deploy', name: 'Before Deploy', plan: 'business', tier: 'schema', owner: { email: 'ada@before.example', name: 'Ada' } },
  });
  const owner = created.body.owner as { email: string; password: string };
  const tenant = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: created.body.tenant.id as string } });
  const server = await platform.servers.byId(tenant.serverId);
  const schema = escapeIdentifier(tenant.schemaName);
  await ownerQuery(tenant, async (client) => {
    const hash = await inTenantTransaction(
      client,
      tenant.id,
      async () => (await client.query(`SELECT password_hash FROM ${schema}.users`)).rows[0].password_hash as string,
    );
    await client.query(`DROP SCHEMA ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await applyMigrations(client, { schema: tenant.schemaName, migrations: older, runtimeRole: server.runtimeRole });
    await inTenantTransaction(client, tenant.id, async () => {
      const [user, lead] = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'];
      await client.query(`INSERT INTO ${schema}.users (id, email, name, password_hash, role) VALUES ($1, $2, 'Ada', $3, 'owner')`, [user, owner.email, hash]);
      await client.query(`INSERT INTO ${schema}.leads (id, name, status, owner_id) VALUES ($1, 'Grace Hopper', 'qualified', $2)`, [lead, user]);
      await client.query(`INSERT INTO ${schema}.deals (title, amount, currency, stage, lead_id) VALUES ('COBOL', 12.50, 'EUR', 'won', $1)`, [lead]);
      await client.query(`INSERT INTO ${schema}.activities (kind, body, lead_id) VALUES ('call', 'compilers', $1)`, [lead]);
    });
  });
  return { tenant, owner };
}

const { tenant: old, owner } = await tenantBeforeDeploy();
let archive: Buffer;

const scratchSchemas = (tenant: Tenant) =>
  ownerQuery(tenant, async (client) => (await client.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE '\\_strata\\_import\\_%'`)).rowCount);
const importInto = (id: string, body: Buffer) => live.raw('POST', `/admin/tenants/${id}/import`, { token: admin, body, type: archiveMediaType });

t.test('a tenant deleted before the deploy: not undeleted in place, but its purge archive is at the older version', async (t) => {
  t.ok(
    older.length > 0 && older.length < migrations.length,
    `the archive's version (${older.length} migrations) is older than the code's (${migrations.length})`,
  );
  t.equal((await api('DELETE', `/admin/tenants/${old.id}`, { token: admin })).status, 200);
  const reactivate = await api('POST', `/admin/tenants/${old.id}/reactivate`, { token: admin });
  t.equal(reactivate.status, 409, 'a deleted tenant is not reactivated: its way back is its archive');
  const purged = await api('POST', `/admin/tenants/${old.id}/purge`, { token: admin });
  t.equal(purged.status, 200, JSON.stringify(purged.body));
  archive = await readFile(join(exportDir, purged.body.archive as string));
  const manifest = JSON.parse(archive.toString('utf8').split('\n')[1]!) as { migrations: string[] };
  t.same(
    manifest.migrations,
    older.map((m) => m.name),
    'the archive records the older version',
  );
});

for (const tier of tiers) {
  t.test(`${tier}: the older archive imports into a current tenant, brought forward; its owner logs in by email`, async (t) => {
    const target = await provision(platform, tier, 'after-deploy');
    const res = await importInto(target.id, archive);
    t.equal(res.status, 200, await res.clone().text());
    t.match(await res.json(), { rows: 4 });
    t.equal(await scratchSchemas(target), 0, 'no scratch schema is left behind');

    const login = await api('POST', '/auth/login', { body: { email: owner.email, password: owner.password } });
    t.equal(login.status, 200, 'the README login: email and password only');
    const token = login.body.accessToken as string;
    t.equal(decodeClaims(token).tid, target.id);
    t.match((await api('GET', '/leads', { token })).body, { items: [{ name: 'Grace Hopper', status: 'qualified' }] }, 'enum values now read from text domains');
    t.match((await api('GET', '/deals', { token })).body, { items: [{ title: 'COBOL', amount: '12.50', stage: 'won' }] });
    t.match((await api('GET', '/activities', { token })).body, { items: [{ kind: 'call', body: 'compilers' }] });
    const created = await api('POST', '/leads', { token, body: { name: 'After the deploy' } });
    t.equal(created.status, 201, 'and the tenant takes new rows');
    await api('DELETE', `/admin/tenants/${target.id}`, { token: admin }); // its owner's email is the next tier's
  });
}

t.test('all or nothing: a damaged older archive is refused and leaves no rows, routes or scratch schema', async (t) => {
  const damaged = Buffer.from(archive.toString('utf8').replace('Grace Hopper', 'Grace Hoppex'));
  for (const tier of tiers) {
    const target = await provision(platform, tier, 'damaged-old');
    const res = await importInto(target.id, damaged);
    t.equal(res.status, 422, `${tier}: refused`);
    t.match(await res.json(), { code: 'STRATA_TRANSFER_ARCHIVE_MISMATCH' });
    t.ok(
      Object.values(await tenantChecksums(platform, target)).every((x) => x.rows === 0),
      `${tier}: no rows`,
    );
    t.equal(await platform.catalog.loginRoute.count({ where: { tenantId: target.id } }), 0, `${tier}: no login routes`);
    t.equal(await scratchSchemas(target), 0, `${tier}: no scratch schema`);
  }
});

t.test('npm run import brings the older archive forward too', async (t) => {
  const file = join(exportDir, 'before-deploy.strata');
  await writeFile(file, archive);
  const target = await provision(platform, 'schema', 'cli-after-deploy');
  const res = await runScript('import', ['--tenant', target.slug, '--in', file], {
    DATABASE_URL: adminUrl(),
    STRATA_DB_PREFIX: platform.config.database.prefix,
    REDIS_URL: '',
  });
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /"event":"import.finished".*"rows":4/);
  const login = await api('POST', '/auth/login', { body: { email: owner.email, password: owner.password } });
  t.equal(login.status, 200);
  t.equal(decodeClaims(login.body.accessToken as string).tid, target.id);
});
