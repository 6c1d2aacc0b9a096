import { escapeIdentifier } from 'pg';
import t from 'tap';
import { ZodError } from 'zod';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { prepareStorage, provisionTenant, reserveTenant, TenantExistsError, type ProvisionInput } from '../../src/tenants/provision-tenant.js';
import { runtimeConnection, startTestPlatform, tiers, type Tier } from '../helper.js';

const platform = await startTestPlatform(t);
const deps = platform.provisioning;
const server = platform.defaultServer;
const current = deps.tenantMigrations.map((m) => ({ name: m.name, checksum: m.checksum }));

const input = (slug: string, tier: Tier): ProvisionInput => ({ slug, name: `Tenant ${slug}`, plan: 'free', tier });
const tenantCount = () => platform.catalog.tenant.count();
const rowsFor = (slug: string) => platform.catalog.tenant.findMany({ where: { slug } });

const ownerQuery = (database: string, sql: string, params: unknown[] = []) =>
  withOwnerConnection(server, database, async (db) => (await db.query(sql, params)).rows);

/** The tenant's migration history read from its own storage, as the owner sees it. */
async function storageHistory(tenant: Tenant) {
  const table = `${escapeIdentifier(tenant.schemaName)}._strata_migrations`;
  const [{ present }] = await ownerQuery(tenant.databaseName, 'SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  if (!present) return [];
  return ownerQuery(tenant.databaseName, `SELECT name, checksum, applied_at FROM ${table} ORDER BY name`);
}

const withoutTimes = (rows: Record<string, unknown>[]) => rows.map(({ name, checksum }) => ({ name, checksum }));

async function storageExists(tenant: Tenant) {
  if (tenant.tier === 'dedicated') {
    return (await ownerQuery(server.tenantsDatabase, 'SELECT 1 FROM pg_database WHERE datname = $1', [tenant.databaseName])).length === 1;
  }
  return (await ownerQuery(tenant.databaseName, 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [tenant.schemaName])).length === 1;
}

const expectedPlacement = (slug: string, tier: Tier) => ({
  schemaName: tier === 'schema' ? `t_${slug.replaceAll('-', '_')}` : 'public',
  databaseName: tier === 'dedicated' ? `${platform.config.database.prefix}_t_${slug.replaceAll('-', '_')}` : server.tenantsDatabase,
});

for (const tier of tiers) {
  t.test(`${tier}: provisioning yields an active tenant on migrated storage`, async (t) => {
    const slug = `fresh-${tier}`;
    const tenant = await provisionTenant(deps, input(slug, tier));

    t.match(tenant, { slug, tier, status: 'active', version: 2, serverId: server.id, ...expectedPlacement(slug, tier) });
    t.match(await platform.catalog.tenant.findUnique({ where: { id: tenant.id } }), { status: 'active', version: 2 });
    t.ok(await storageExists(tenant));
    t.same(withoutTimes(await storageHistory(tenant)), current);

    const runtime = await runtimeConnection(t, platform, tenant);
    await runtime.query(`SET search_path TO ${escapeIdentifier(tenant.schemaName)}`);
    t.equal((await runtime.query('SELECT count(*)::int AS n FROM leads')).rows[0].n, 0, 'the runtime role can reach the tables');

    await t.rejects(provisionTenant(deps, input(slug, tier)), TenantExistsError);
    await t.rejects(provisionTenant(deps, input(slug, 'pooled')), TenantExistsError, 'whatever the tier asked for');
    t.equal((await rowsFor(slug)).length, 1);
  });
}

/** Who may connect to a dedicated database: a new database lets PUBLIC in until provisioning closes it. */
async function connectAcl(tenant: Tenant) {
  const [acl] = await ownerQuery(
    server.tenantsDatabase,
    `SELECT has_database_privilege('public', $1, 'CONNECT') AS public, has_database_privilege($2, $1, 'CONNECT') AS runtime`,
    [tenant.databaseName, server.runtimeRole],
  );
  return acl;
}

t.test('a dedicated database is closed to everyone but the runtime role', async (t) => {
  const tenant = await provisionTenant(deps, input('closed-db', 'dedicated'));
  t.same(await connectAcl(tenant), { public: false, runtime: true });
});

t.test('invalid slugs are refused before anything is written', async (t) => {
  const before = await tenantCount();
  for (const slug of ['Acme', 'ab', '../x', 'has space', 'x'.repeat(41), '-lead', 'trail-', 'drop;table', 'www', 'api', 'admin', 'status']) {
    const err = await provisionTenant(deps, input(slug, 'schema')).catch((e: unknown) => e);
    t.type(err, ZodError, `slug ${JSON.stringify(slug)}`);
    t.same(
      (err as ZodError).issues?.map((i) => i.path),
      [['slug']],
    );
  }
  t.equal(await tenantCount(), before);
  const schemas = await ownerQuery(server.tenantsDatabase, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'`);
  const tenantSchemas = await platform.catalog.tenant.findMany({ where: { tier: 'schema' } });
  t.same(schemas.map((r) => r.nspname).sort(), tenantSchemas.map((r) => r.schemaName).sort(), 'no schema but those of real tenants');
});

for (const tier of tiers) {
  t.test(`${tier}: a retry after a crash following the reservation completes it, when asked to resume`, async (t) => {
    const slug = `crash-reserved-${tier}`;
    const reserved = await reserveTenant(deps, input(slug, tier));
    t.equal(reserved.status, 'provisioning');

    const unasked = await provisionTenant(deps, input(slug, tier)).catch((e: unknown) => e);
    t.type(unasked, TenantExistsError, 'without resume, an unfinished slug is refused like a concurrent provisioning');
    t.equal((unasked as TenantExistsError).unfinished, true);
    const tenant = await provisionTenant(deps, input(slug, tier), { resume: true });
    t.equal(tenant.id, reserved.id, 'the reserved row is resumed, not replaced');
    t.same(
      (await rowsFor(slug)).map((r) => r.status),
      ['active'],
    );
    t.same(withoutTimes(await storageHistory(tenant)), current);
  });

  t.test(`${tier}: a retry after a crash following storage preparation applies nothing twice`, async (t) => {
    const slug = `crash-prepared-${tier}`;
    const reserved = await reserveTenant(deps, input(slug, tier));
    await prepareStorage(deps, reserved);
    const prepared = await storageHistory(reserved);
    t.same(withoutTimes(prepared), current);

    const tenant = await provisionTenant(deps, input(slug, tier), { resume: true });
    t.match(tenant, { id: reserved.id, status: 'active', version: 2 });
    t.same(await storageHistory(tenant), prepared, 'history rows (and their applied_at) unchanged by the retry');
    t.equal((await rowsFor(slug)).length, 1);
  });
}

t.test('dedicated: a retry after a crash between creating and migrating the database completes it', async (t) => {
  const slug = 'crash-created-db';
  const reserved = await reserveTenant(deps, input(slug, 'dedicated'));
  await ownerQuery(server.tenantsDatabase, `CREATE DATABASE ${escapeIdentifier(reserved.databaseName)}`);
  t.same(await storageHistory(reserved), [], 'created but never migrated');
  t.same(await connectAcl(reserved), { public: true, runtime: true }, 'and still open to PUBLIC');

  const tenant = await provisionTenant(deps, input(slug, 'dedicated'), { resume: true });
  t.equal(tenant.status, 'active');
  t.same(withoutTimes(await storageHistory(tenant)), current);
  t.same(await connectAcl(tenant), { public: false, runtime: true });
  const runtime = await runtimeConnection(t, platform, tenant);
  t.equal((await runtime.query('SELECT count(*)::int AS n FROM leads')).rows[0].n, 0);
});

for (const tier of tiers) {
  t.test(`${tier}: concurrent provisioning of one slug: exactly one wins, the others are refused`, async (t) => {
    for (const round of [1, 2, 3]) {
      const slug = `race-${round}-${tier}`;
      const outcomes = await Promise.allSettled([1, 2, 3].map(() => provisionTenant(deps, input(slug, tier))));

      const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : []));
      t.equal(failures.length, 2, `round ${round}: exactly one call succeeds`);
      for (const err of failures) t.type(err, TenantExistsError, `round ${round}: a loser is told the slug is taken (${err.message})`);
      const rows = await rowsFor(slug);
      t.same(
        rows.map((r) => r.status),
        ['active'],
        `round ${round}: one active row`,
      );
      t.ok(await storageExists(rows[0]!));
      t.same(withoutTimes(await storageHistory(rows[0]!)), current, `round ${round}: migrated once`);
    }
  });
}

t.test('provisioning a schema tenant takes well under a second', async (t) => {
  const started = performance.now();
  await provisionTenant(deps, input('timed', 'schema'));
  const ms = performance.now() - started;
  t.comment(`schema tenant provisioned in ${ms.toFixed(0)} ms`);
  t.ok(ms < 2000, `${ms.toFixed(0)} ms`);
});
