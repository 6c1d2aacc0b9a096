import { pino } from 'pino';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { PoolRegistry } from '../../src/router/pool-registry.js';
import { NoTenantBoundError } from '../../src/router/tenant-context.js';
import { TenantRouter } from '../../src/router/tenant-router.js';
import { TenantRoutingPool } from '../../src/router/tenant-routing-pool.js';
import { startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);

// A router whose pools hold one connection each: every tenant of a database shares it, so a
// context left behind by one call would be seen by the next.
const registry = new PoolRegistry(
  { poolMax: 1, dedicatedPoolMax: 1, maxPools: 10, connectionBudget: 10 },
  (id) => platform.servers.byId(id),
  pino({ level: 'silent' }),
);
const router = new TenantRouter({ registry });
t.teardown(() => router.close());

/** What the tenant's (single) pooled connection carries between calls. */
async function leftover(tenant: Tenant) {
  const pool = await registry.poolFor(tenant.serverId, tenant.databaseName);
  const { rows } = await pool.query(
    `SELECT current_setting('app.tenant_id', true) AS tenant, current_setting('search_path') AS path,
            now() <> statement_timestamp() AS in_transaction`,
  );
  return { ...rows[0], connections: pool.totalCount };
}

t.test('reaching tenant data with no tenant bound throws before any connection is used', async (t) => {
  const pool = new TenantRoutingPool(registry);
  await t.rejects(pool.query('SELECT count(*) FROM leads'), NoTenantBoundError);
  await t.rejects(pool.connect(), NoTenantBoundError);
});

for (const tier of tiers) {
  t.test(`${tier}: a throwing transaction leaves nothing behind`, async (t) => {
    const db = router.clientFor(pairs[tier].a);
    const before = await db.lead.count();
    await t.rejects(
      db.$transaction(async (tx) => {
        await tx.lead.create({ data: { name: 'rolled back' } });
        throw new Error('boom');
      }),
      { message: 'boom' },
    );
    t.equal(await db.lead.count(), before);
    t.equal(await db.lead.count({ where: { name: 'rolled back' } }), 0);
  });

  t.test(`${tier}: alternating tenants on one connection never inherit a context`, async (t) => {
    const { a, b } = pairs[tier];
    await router.clientFor(a).lead.create({ data: { name: 'A' } });
    await router.clientFor(b).lead.create({ data: { name: 'B' } });
    const steps = [
      (db: ReturnType<typeof router.clientFor>) => db.lead.findMany(),
      (db: ReturnType<typeof router.clientFor>) => db.$transaction(async (tx) => tx.lead.findMany()),
      (db: ReturnType<typeof router.clientFor>) => db.$transaction([db.lead.findMany(), db.lead.count()]).then(([rows]) => rows),
      // A failing statement mid-transaction must not leave the transaction (or its context) open.
      (db: ReturnType<typeof router.clientFor>) =>
        db
          .$transaction(async (tx) => {
            await tx.lead.findMany();
            await tx.$executeRawUnsafe('SELECT 1/0');
            return [];
          })
          .catch(() => db.lead.findMany()),
    ];
    for (let i = 0; i < 24; i++) {
      const tenant = i % 2 ? b : a;
      const rows = await steps[i % steps.length]!(router.clientFor(tenant));
      t.ok(rows.length > 0 && rows.every((r) => r.tenantId === tenant.id), `call ${i} sees only its tenant`);
      const state = await leftover(tenant);
      t.same(state, { tenant: '', path: '"$user", public', in_transaction: false, connections: 1 }, `call ${i} left nothing on the connection`);
    }
  });
}
