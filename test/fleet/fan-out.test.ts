/**
 * Fan-out reads over tenants of every tier: the admin report's counts through real HTTP match
 * each tenant's own count, a tenant that fails or hangs is reported alone while the rest answer,
 * and the per-server concurrency bound holds.
 */
import pg from 'pg';
import { test } from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { fanOut, fanOutGrouped } from '../../src/fleet/fan-out.js';
import { tenantCounts } from '../../src/fleet/tenant-counts.js';
import { connectionConfig, withOwnerConnection } from '../../src/servers/server-access.js';
import { adminToken, bearer, provision, startTestPlatform, testApp, tiers, tokenFor, userWithToken } from '../helper.js';

test('fan-out reads across tiers', async (t) => {
  const platform = await startTestPlatform(t);
  const app = await testApp(t, platform);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  // Tenant i of each tier gets i + 1 leads, i deals and one user, so every count is distinct.
  const tenants: Tenant[] = [];
  for (const tier of tiers) {
    for (let i = 0; i < 3; i++) {
      const tenant = await provision(platform, tier, `fan${i}`);
      const db = platform.router.clientFor(tenant);
      await userWithToken(platform, tenant, 'owner');
      const leads = await Promise.all(Array.from({ length: i + 1 }, (_, n) => db.lead.create({ data: { name: `lead ${n}` } })));
      for (let n = 0; n < i; n++) await db.deal.create({ data: { title: `deal ${n}`, amount: '1.00', currency: 'EUR', leadId: leads[0]!.id } });
      tenants.push(tenant);
    }
  }
  const expected = (tenant: Tenant) => {
    const i = Number(/fan(\d)/.exec(tenant.slug)![1]);
    return { leads: i + 1, deals: i, users: 1 };
  };

  t.test('GET /admin/reports/tenants?include=counts counts every tier in grouped statements', async (t) => {
    const token = await adminToken(platform);
    const answer = await fetch(`${url}/admin/reports/tenants?include=counts`, { headers: bearer(token) });
    t.equal(answer.status, 200);
    const report = (await answer.json()) as { items: { id: string; tier: string; counts: unknown }[]; failures: unknown[] };
    t.same(report.failures, []);
    for (const tenant of tenants) t.same(report.items.find((i) => i.id === tenant.id)?.counts, expected(tenant), `${tenant.slug}`);
    const plain = (await (await fetch(`${url}/admin/reports/tenants`, { headers: bearer(token) })).json()) as { items: object[] };
    t.notOk(
      plain.items.some((i) => 'counts' in i),
      'counts only when asked for',
    );
    t.equal(
      (await fetch(`${url}/admin/reports/tenants?include=counts`, { headers: bearer(tokenFor(platform, tenants[0]!)) })).status,
      401,
      'a tenant owner cannot read the fleet report',
    );
  });

  t.test('the router fan-out agrees, each read seeing only its own tenant', async (t) => {
    let inFlight = 0;
    let peak = 0;
    const read = await fanOut(
      platform.router,
      tenants,
      async (db) => {
        peak = Math.max(peak, ++inFlight);
        try {
          return { leads: await db.lead.count(), deals: await db.deal.count(), users: await db.user.count() };
        } finally {
          inFlight--;
        }
      },
      { concurrencyPerServer: 2 },
    );
    t.same(read.failures, []);
    for (const tenant of tenants) t.same(read.results.get(tenant.id), expected(tenant), tenant.slug);
    t.ok(peak <= 2, `at most 2 reads at once on the server (saw ${peak})`);
  });

  t.test('a broken or locked tenant fails alone; the rest of its batch still answers', async (t) => {
    const server = platform.defaultServer;
    const [brokenSchema, lockedSchema] = tenants.filter((x) => x.tier === 'schema');
    const lockedDedicated = tenants.find((x) => x.tier === 'dedicated')!;
    await withOwnerConnection(server, brokenSchema!.databaseName, (c) => c.query(`DROP TABLE "${brokenSchema!.schemaName}".deals CASCADE`));
    // Two tenants whose tables stay locked while the read runs: it must give up on them in time.
    const holders = await Promise.all(
      [lockedSchema!, lockedDedicated].map(async (tenant) => {
        const client = new pg.Client(connectionConfig(server, 'owner', tenant.databaseName));
        await client.connect();
        await client.query(`BEGIN; LOCK TABLE "${tenant.schemaName}".leads IN ACCESS EXCLUSIVE MODE`);
        return client;
      }),
    );
    t.teardown(() => Promise.all(holders.map((h) => h.end())));

    const started = Date.now();
    const read = await fanOutGrouped({ servers: platform.servers, owners: platform.provisioning.owners }, tenants, tenantCounts, { timeoutMs: 500 });
    t.ok(Date.now() - started < 10_000, 'bounded by the timeouts');
    t.same(
      read.failures.map((f) => f.slug).toSorted(),
      [brokenSchema!.slug, lockedSchema!.slug, lockedDedicated.slug].toSorted(),
      'exactly the broken and the locked tenants fail',
    );
    t.match(read.failures.find((f) => f.slug === lockedSchema!.slug)?.error, /statement timeout/);
    for (const tenant of tenants.filter((x) => !read.failures.some((f) => f.tenantId === x.id))) {
      t.same(read.results.get(tenant.id), expected(tenant), `${tenant.slug} still counted`);
    }
  });
});
