import pg from 'pg';
import t from 'tap';
import { adminUrl, provision, startTestPlatform } from '../helper.js';

// Room for the shared pool and one dedicated pool only: a second dedicated tenant evicts the first.
const platform = await startTestPlatform(t, { STRATA_MAX_POOLS: '2', STRATA_DEDICATED_POOL_MAX: '2' });
const first = await provision(platform, 'dedicated', 'first');
const second = await provision(platform, 'dedicated', 'second');
const pooled = await provision(platform, 'pooled', 'shared');

const admin = new pg.Client({ connectionString: adminUrl() });
await admin.connect();
t.teardown(() => admin.end());

async function runtimeConnections(database: string) {
  const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename = $2`, [
    database,
    platform.config.database.runtime.role,
  ]);
  return rows[0]!.n;
}

async function eventually(check: () => Promise<boolean>) {
  for (let i = 0; i < 50 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
  return check();
}

t.test('evicting a dedicated tenant from the cache closes its connections', async (t) => {
  // Concurrent queries make the pool open both of its connections.
  const dbFirst = platform.router.clientFor(first);
  await Promise.all([dbFirst.lead.create({ data: { name: 'x' } }), dbFirst.lead.count(), dbFirst.lead.count()]);
  t.ok((await runtimeConnections(first.databaseName)) >= 1, 'the first tenant has open connections');

  await platform.router.clientFor(pooled).lead.count();
  t.equal(platform.router.stats().pools, 2);
  await platform.router.clientFor(second).lead.count();

  t.ok(await eventually(async () => (await runtimeConnections(first.databaseName)) === 0), 'evicted pool closed');
  t.ok((await runtimeConnections(second.databaseName)) >= 1, 'the newcomer is connected');
  t.ok(platform.router.stats().pools <= 2, 'pool count stays within the limit');

  // An evicted tenant is still served: its pool is simply opened again.
  t.equal(await platform.router.clientFor(first).lead.count(), 1);
});

t.test('the pool used least recently is evicted, not the one opened first', async (t) => {
  // Open now: the second tenant's pool, then the first's (reopened above).
  await platform.router.clientFor(second).lead.count();
  await platform.router.clientFor(pooled).lead.count();

  t.ok(await eventually(async () => (await runtimeConnections(first.databaseName)) === 0), 'the least recently used pool closed');
  t.ok((await runtimeConnections(second.databaseName)) >= 1, 'the older but recently used pool stays open');
});

t.test('closing the router closes every pool', async (t) => {
  await platform.router.close();
  for (const tenant of [first, second, pooled]) {
    t.ok(await eventually(async () => (await runtimeConnections(tenant.databaseName)) === 0), `${tenant.slug} disconnected`);
  }
});
