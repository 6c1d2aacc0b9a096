/**
 * Regression: data statements in tenant migrations silently affected zero rows. Migrations ran as
 * the owner with no app.tenant_id, every tenant table forces row security on its owner, so an
 * UPDATE or INSERT … SELECT saw nothing and apply still reported success: a copy-then-drop rename
 * lost every value with exit 0. Here a backfill and an expand/contract rename go through the real
 * `npm run migrate -- apply` on every tier and every value must survive, for every tenant.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg, { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { applyMigrations } from '../../src/migrations/apply-migrations.js';
import { checksumOf, migrationDirs } from '../../src/migrations/migration-files.js';
import { connectionConfig } from '../../src/servers/server-access.js';
import { adminUrl, provision, startTestPlatform, tiers } from '../helper.js';
import { runScript } from '../support/run-script.js';
import { privateOwnerRole } from '../support/owner-role.js';
import { seedTenantRows } from '../support/tenant-rows.js';

const ownerRole = privateOwnerRole(t);
const superuser = new pg.Client({ connectionString: adminUrl() });
await superuser.connect();
t.teardown(() => superuser.end());
const platform = await startTestPlatform(t, { STRATA_OWNER_ROLE: ownerRole });

const tenants: Tenant[] = [];
for (const tier of tiers) {
  // Two per tier: the pooled tables hold both, and each must keep its own values.
  for (const label of ['first', 'second']) {
    const tenant = await provision(platform, tier, label);
    await seedTenantRows(platform, tenant, 40);
    tenants.push(tenant);
  }
}

const backfill = `ALTER TABLE "leads" ADD COLUMN "legacy_code" TEXT;
UPDATE "leads" SET "legacy_code" = 'L-' || "name";
INSERT INTO "activities" ("tenant_id", "kind", "body", "lead_id") SELECT "tenant_id", 'note', 'imported ' || "name", "id" FROM "leads";
`;
const rename = `ALTER TABLE "leads" ADD COLUMN "code" TEXT;
UPDATE "leads" SET "code" = "legacy_code";
ALTER TABLE "leads" DROP COLUMN "legacy_code";
`;

/** The repository's tenant migrations plus the two data migrations, in a folder of this test's own. */
async function migrationsDir() {
  const dir = await mkdtemp(join(tmpdir(), 'strata-data-migrations-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(migrationDirs.tenant, dir, { recursive: true });
  for (const [name, sql] of [
    ['20990101000000_lead_legacy_code', backfill],
    ['20990102000000_rename_legacy_code', rename],
  ]) {
    await mkdir(join(dir, name!));
    await writeFile(join(dir, name!, 'migration.sql'), sql!);
  }
  return dir;
}

const migrate = (args: string[]) =>
  runScript('migrate', args, { DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: platform.config.database.prefix, STRATA_OWNER_ROLE: ownerRole, REDIS_URL: '' });

/** Runs `fn` as the superuser in the tenant's database (every tier is on the shared server here). */
async function asSuperuser<T>(tenant: Tenant, fn: (client: pg.Client, schema: string) => Promise<T>): Promise<T> {
  const url = new URL(adminUrl());
  url.pathname = `/${tenant.databaseName}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client, escapeIdentifier(tenant.schemaName));
  } finally {
    await client.end();
  }
}

const leadNames = (tenant: Tenant) =>
  asSuperuser(tenant, async (client, schema) =>
    (await client.query<{ name: string }>(`SELECT name FROM ${schema}.leads WHERE tenant_id = $1`, [tenant.id])).rows.map((r) => r.name).sort(),
  );

/** A tenant's leads (name, code) and its imported activities, read with an explicit tenant filter. */
function valuesOf(tenant: Tenant) {
  return asSuperuser(tenant, async (client, schema) => {
    const leads = await client.query<{ name: string; code: string | null }>(`SELECT name, code FROM ${schema}.leads WHERE tenant_id = $1`, [tenant.id]);
    const imported = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${schema}.activities a JOIN ${schema}.leads l ON l.tenant_id = a.tenant_id AND l.id = a.lead_id
        WHERE a.tenant_id = $1 AND a.body = 'imported ' || l.name`,
      [tenant.id],
    );
    return { leads: leads.rows, imported: imported.rows[0]!.n };
  });
}

t.test('an owner without BYPASSRLS makes a data migration fail loudly, never touch zero rows quietly', async (t) => {
  await superuser.query(`ALTER ROLE ${escapeIdentifier(ownerRole)} NOBYPASSRLS`);
  const tenant = tenants.find((x) => x.tier === 'schema')!;
  const server = await platform.servers.byId(tenant.serverId);
  const client = new pg.Client(connectionConfig(server, 'owner', tenant.databaseName));
  await client.connect();
  t.teardown(() => client.end());
  const sql = `UPDATE "leads" SET "name" = "name" || '!';\n`;
  const migration = { name: '20990100000000_touch_leads', sql, checksum: checksumOf(sql) };
  await t.rejects(
    applyMigrations(client, { schema: tenant.schemaName, migrations: [...platform.provisioning.tenantMigrations, migration], runtimeRole: server.runtimeRole }),
    /lacks BYPASSRLS/,
    'the migration is refused rather than applied to no row',
  );
});

t.test('npm run migrate -- apply: a backfill and an expand/contract rename keep every value, on every tier', async (t) => {
  // As an installation bootstrapped by an earlier release left it: the owner under row security.
  await superuser.query(`ALTER ROLE ${escapeIdentifier(ownerRole)} NOBYPASSRLS`);
  const before = new Map<string, string[]>();
  for (const tenant of tenants) before.set(tenant.id, await leadNames(tenant));

  const res = await migrate(['apply', '--migrations-dir', await migrationsDir()]);
  t.equal(res.code, 0, res.code === 0 ? 'apply exits 0' : res.stderr);
  const { rows } = await superuser.query<{ rolbypassrls: boolean }>('SELECT rolbypassrls FROM pg_roles WHERE rolname = $1', [ownerRole]);
  t.same(rows, [{ rolbypassrls: true }], 'booting the command upgraded the owner role');

  let lost = 0;
  for (const tenant of tenants) {
    const { leads, imported } = await valuesOf(tenant);
    const label = `${tenant.tier} ${tenant.slug}`;
    t.same(leads.map((l) => l.name).sort(), before.get(tenant.id), `${label}: its ${leads.length} leads are all there`);
    const wrong = leads.filter((l) => l.code !== `L-${l.name}`);
    lost += wrong.length;
    t.same(wrong, [], `${label}: every lead's code carried through the rename`);
    t.equal(imported, leads.length, `${label}: INSERT … SELECT made one activity per lead`);
  }
  t.equal(lost, 0, 'no value lost');
});
