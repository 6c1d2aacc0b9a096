import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { copyTable } from '../../src/transfer/copy-table.js';
import { tableChecksum } from '../../src/transfer/table-checksum.js';
import { tenantTables, type TenantTable } from '../../src/transfer/tenant-tables.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';
import { provision, startTestPlatform, tenantPairs, tiers } from '../helper.js';
import { seedTenantRows, seededCounts, tenantChecksums } from '../support/tenant-rows.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);
const leads = 300;
for (const tier of tiers) {
  await seedTenantRows(platform, pairs[tier].a, leads);
  await seedTenantRows(platform, pairs[tier].b, leads / 3);
}

const checksums = tenantChecksums;

async function ownerQuery(tenant: Tenant, sql: string, params: unknown[] = []) {
  const server = await platform.servers.byId(tenant.serverId);
  return withOwnerConnection(server, tenant.databaseName, (client) =>
    inTenantTransaction(client, tenant.id, async () => (await client.query(sql.replaceAll('$schema', `"${tenant.schemaName}"`), params)).rowCount),
  );
}

t.test('tenantTables lists the tenant tables in insert-safe order on every tier, without bookkeeping', async (t) => {
  for (const tier of tiers) {
    const tenant = pairs[tier].a;
    const tables = await withOwnerConnection(await platform.servers.byId(tenant.serverId), tenant.databaseName, (client) =>
      tenantTables(client, tenant.schemaName),
    );
    const names = tables.map((x) => x.name);
    t.ok(
      ['activities', 'deals', 'leads', 'refresh_tokens', 'users'].every((n) => names.includes(n)),
      `${tier}: the tenant tables (${names})`,
    );
    t.notOk(
      names.some((n) => n.startsWith('_strata')),
      `${tier}: no bookkeeping tables`,
    );
    t.ok(
      tables.every((x) => x.columns.includes('tenant_id')),
      `${tier}: every table is tenant-keyed`,
    );
    const before = (a: string, b: string) => t.ok(names.indexOf(a) < names.indexOf(b), `${tier}: ${a} before ${b}`);
    before('users', 'leads');
    before('leads', 'deals');
    before('deals', 'activities');
    before('users', 'refresh_tokens');
    const users = tables.find((x) => x.name === 'users') as TenantTable;
    t.same(users.primaryKey, ['tenant_id', 'id'], `${tier}: primary key`);
    t.equal(users.columns[0], 'tenant_id', `${tier}: columns in table order`);
    t.ok(users.columns.includes('password_hash') && users.columns.includes('last_login_at'), `${tier}: columns of every migration`);
  }
});

t.test('identical rows give identical checksums on every tier; counts are the seeded ones', async (t) => {
  const expected = seededCounts(leads);
  const [first, ...rest] = await Promise.all(tiers.map((tier) => checksums(platform, pairs[tier].a)));
  for (const [table, count] of Object.entries(expected)) t.equal(first![table]!.rows, count, `${table}: ${count} rows`);
  rest.forEach((sums, i) => t.same(sums, first, `${tiers[i + 1]} checksums equal pooled's`));
  t.not(first!.leads!.checksum, '0');
});

t.test("a pooled tenant's checksum ignores another tenant's rows, and sees no rows of that tenant", async (t) => {
  const { a, b } = pairs.pooled;
  const before = await checksums(platform, a);
  await ownerQuery(b, `UPDATE $schema.leads SET name = name || ' changed' WHERE tenant_id = $1`, [b.id]);
  await ownerQuery(b, `DELETE FROM $schema.activities WHERE tenant_id = $1`, [b.id]);
  t.same(await checksums(platform, a), before, "b's changes leave a's checksums alone");
  const bSums = await checksums(platform, b);
  t.equal(bSums.leads!.rows, seededCounts(leads / 3).leads, "b's count is b's own rows only");
  t.equal(bSums.activities!.rows, 0);
});

t.test('changing, adding or removing one row changes the checksum, on every tier', async (t) => {
  for (const tier of tiers) {
    const tenant = pairs[tier].a;
    const original = await checksums(platform, tenant);
    await ownerQuery(tenant, `UPDATE $schema.deals SET amount = amount + 0.01 WHERE id = md5('d1')::uuid`);
    const changed = await checksums(platform, tenant);
    t.not(changed.deals!.checksum, original.deals!.checksum, `${tier}: one cent changes deals`);
    t.equal(changed.deals!.rows, original.deals!.rows);
    t.same(changed.leads, original.leads, `${tier}: other tables unchanged`);
    await ownerQuery(tenant, `UPDATE $schema.deals SET amount = amount - 0.01 WHERE id = md5('d1')::uuid`);
    t.same((await checksums(platform, tenant)).deals, original.deals, `${tier}: restoring the row restores the checksum`);
    await ownerQuery(tenant, `DELETE FROM $schema.refresh_tokens WHERE id = md5('r1')::uuid`);
    const removed = await checksums(platform, tenant);
    t.equal(removed.refresh_tokens!.rows, original.refresh_tokens!.rows - 1, `${tier}: a removed row is counted`);
    t.not(removed.refresh_tokens!.checksum, original.refresh_tokens!.checksum);
  }
});

t.test('a checksum outside the tenant transaction is refused, not silently empty', async (t) => {
  const tenant = pairs.pooled.a;
  await withOwnerConnection(await platform.servers.byId(tenant.serverId), tenant.databaseName, async (client) => {
    const [table] = await tenantTables(client, tenant.schemaName);
    await t.rejects(tableChecksum(client, tenant.schemaName, table!, tenant.id), /not running inside inTenantTransaction/);
    await t.rejects(
      inTenantTransaction(client, pairs.pooled.b.id, () => tableChecksum(client, tenant.schemaName, table!, tenant.id)),
      /not running inside inTenantTransaction/,
      "another tenant's transaction does not do",
    );
  });
});

t.test('copyTable moves one tenant between every pair of locations with equal checksums', async (t) => {
  for (const from of tiers) {
    for (const to of tiers) {
      // Both would be the one pooled table of the server (a pooled move goes to another server).
      if (from === 'pooled' && to === 'pooled') continue;
      const source = pairs[from].a;
      // A fresh location on the target tier stands in for a move target; the rows keep the source tenant's id.
      const target = await provision(platform, to, `copy-${from}`);
      const [sourceServer, targetServer] = await Promise.all([platform.servers.byId(source.serverId), platform.servers.byId(target.serverId)]);
      let reported = 0;
      const copied = await withOwnerConnection(sourceServer, source.databaseName, (sourceClient) =>
        withOwnerConnection(targetServer, target.databaseName, async (targetClient) => {
          const tables = await tenantTables(sourceClient, source.schemaName);
          return inTenantTransaction(
            sourceClient,
            source.id,
            () =>
              inTenantTransaction(targetClient, source.id, async () => {
                let total = 0;
                for (const table of tables) {
                  total += await copyTable({
                    source: { client: sourceClient, schema: source.schemaName },
                    target: { client: targetClient, schema: target.schemaName },
                    table,
                    tenantId: source.id,
                    onRows: (n) => (reported = n),
                  });
                }
                return total;
              }),
            { isolation: 'repeatable read', readOnly: true },
          );
        }),
      );
      const sourceSums = await checksums(platform, source);
      t.equal(
        copied,
        Object.values(sourceSums).reduce((n, x) => n + x.rows, 0),
        `${from} → ${to}: every row copied`,
      );
      t.ok(reported > 0, 'progress reported');
      t.same(await checksums(platform, source, source.id, target), sourceSums, `${from} → ${to}: checksums equal`);
    }
  }
});
