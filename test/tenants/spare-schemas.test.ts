import t from 'tap';
import { historyTable } from '../../src/migrations/apply-migrations.js';
import { provision, startTestPlatform } from '../helper.js';

const spareCount = async (platform: Awaited<ReturnType<typeof startTestPlatform>>) => {
  await platform.provisioning.spares.settle();
  return platform.provisioning.owners.with(platform.defaultServer, platform.defaultServer.tenantsDatabase, async (c) => {
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'spare\\_%'`);
    return rows[0].n as number;
  });
};

t.test('schema tenants are provisioned from migrated spares, which are refilled', async (t) => {
  const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '2' });
  t.equal(await spareCount(platform), 2, 'the pool is filled at start');

  const tenants = await Promise.all(['s1', 's2', 's3'].map((label) => provision(platform, 'schema', label)));
  t.equal(new Set(tenants.map((x) => x.schemaName)).size, 3, 'three distinct schemas');
  for (const tenant of tenants) {
    const history = await platform.provisioning.owners.with(platform.defaultServer, tenant.databaseName, (c) =>
      c.query(`SELECT name FROM "${tenant.schemaName}"."${historyTable}" ORDER BY name`),
    );
    t.same(
      history.rows.map((r) => r.name),
      platform.provisioning.tenantMigrations.map((m) => m.name),
      `${tenant.slug} is current`,
    );
    const db = platform.router.clientFor(tenant);
    t.equal(await db.lead.count(), 0, 'a claimed spare holds no rows');
    const lead = await db.lead.create({ data: { name: tenant.slug } });
    t.equal(lead.tenantId, tenant.id);
  }
  const [a, b] = tenants;
  t.same(
    (await platform.router.clientFor(a!).lead.findMany()).map((l) => l.name),
    [a!.slug],
    'isolated from its siblings',
  );
  t.same(
    (await platform.router.clientFor(b!).lead.findMany()).map((l) => l.name),
    [b!.slug],
  );
  t.equal(await spareCount(platform), 2, 'refilled after the claims');
});

t.test('with the pool turned off, schemas are created on demand', async (t) => {
  const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
  const tenant = await provision(platform, 'schema', 'nospare');
  t.equal(await platform.router.clientFor(tenant).lead.count(), 0);
  t.equal(await spareCount(platform), 0);
});
