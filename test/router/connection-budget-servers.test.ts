/**
 * The connection math with several servers (docs/scale-out.md): STRATA_CONNECTION_BUDGET bounds
 * what one API instance holds to all servers together, not per server; a server reached directly
 * sees at most instances × their budgets (in practice their pools there); behind a PgBouncer of its
 * own it sees at most the pooler's pool size per database, however many instances and client
 * connections there are. Two instances, three servers (the shared one direct, two private ones
 * each behind a PgBouncer), a pooled, a schema and two dedicated tenants on each, all busy at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pino } from 'pino';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { resolveSecret } from '../../src/config/config.js';
import { startPlatform, type Platform } from '../../src/platform/platform.js';
import { TenantBusyError } from '../../src/router/tenant-guards.js';
import { TenantPoolBusyError } from '../../src/router/tenant-sql.js';
import { updateServer } from '../../src/servers/server-registry.js';
import { adminUrl, provision, startTestPlatform } from '../helper.js';
import { startExtraServer } from '../support/extra-server.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { type PgBouncer, startPgBouncer } from '../support/pgbouncer.js';

t.setTimeout(300_000);
const limits = { poolMax: 4, dedicatedPoolMax: 2, maxPools: 6, budget: 10 };
/** default_pool_size of the test PgBouncer (test/support/pgbouncer.ts). */
const bouncerPoolSize = 4;

t.test('one budget per instance across servers; PgBouncer caps what each server sees', { skip: skipWithout(optionalTools.pgbouncer) }, async (t) => {
  const first = await startTestPlatform(t, {
    STRATA_POOL_MAX: String(limits.poolMax),
    STRATA_DEDICATED_POOL_MAX: String(limits.dedicatedPoolMax),
    STRATA_MAX_POOLS: String(limits.maxPools),
    STRATA_CONNECTION_BUDGET: String(limits.budget),
    STRATA_SPARE_SCHEMAS: '0',
  });
  const { runtime, prefix } = first.config.database;
  const behindBouncers: { url: string; bouncer: PgBouncer }[] = [];
  for (const name of ['second', 'third']) {
    const extra = await startExtraServer(t, first, name);
    const bouncer = await startPgBouncer(t, {
      server: { host: '127.0.0.1', port: extra.server.port },
      users: [{ name: runtime.role, password: resolveSecret(runtime.secretRef) }],
      adminUser: runtime.role,
    });
    await updateServer(first, null, name, { runtimeHost: bouncer.host, runtimePort: bouncer.port });
    behindBouncers.push({ url: extra.url, bouncer });
  }
  // A second API instance of the same installation, started once the endpoints are set.
  const second = await startPlatform(first.config, pino({ level: 'silent' }));
  t.teardown(() => second.close());

  const tenants: Tenant[] = [];
  for (const server of ['default', 'second', 'third']) {
    for (const [tier, label] of [
      ['pooled', 'p'],
      ['schema', 's'],
      ['dedicated', 'd1'],
      ['dedicated', 'd2'],
    ] as const) {
      tenants.push(await provision(first, tier, `${label}-${server}`, 'business', server));
    }
  }

  // Server-side: runtime-role sessions per database, read on the shared server and behind each PgBouncer.
  const direct = new pg.Client({ connectionString: adminUrl() });
  const clusters = behindBouncers.map((b) => new pg.Client({ connectionString: b.url }));
  await Promise.all([direct, ...clusters].map((c) => c.connect()));
  t.teardown(() => Promise.all([direct, ...clusters].map((c) => c.end())));
  const runtimeByDatabase = async (client: pg.Client) =>
    (
      await client.query<{ datname: string; n: number }>(
        `SELECT datname, count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND starts_with(datname, $2) GROUP BY 1`,
        [runtime.role, `${prefix}_`],
      )
    ).rows;
  const most = { budgeted: [0, 0], serversAtOnce: [0, 0], direct: 0, clients: 0, perDatabaseBehindBouncer: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const [atDirect, ...behind] = await Promise.all([runtimeByDatabase(direct), ...clusters.map(runtimeByDatabase)]);
      const clients = await Promise.all(
        behindBouncers.map(
          async (b) => (await b.bouncer.admin('SHOW CLIENTS')).filter((c) => c.user === runtime.role && String(c.database).startsWith(`${prefix}_`)).length,
        ),
      );
      [first, second].forEach((p, i) => {
        most.budgeted[i] = Math.max(most.budgeted[i]!, p.router.budget().budgeted);
        const servers = new Set(
          p.router
            .poolStats()
            .filter((pool) => pool.connections > 0)
            .map((pool) => pool.serverId),
        );
        most.serversAtOnce[i] = Math.max(most.serversAtOnce[i]!, servers.size);
      });
      most.direct = Math.max(
        most.direct,
        atDirect.reduce((n, r) => n + r.n, 0),
      );
      most.clients = Math.max(most.clients, ...clients);
      most.perDatabaseBehindBouncer = Math.max(most.perDatabaseBehindBouncer, ...behind.flat().map((r) => r.n));
      await sleep(10);
    }
  })();

  // Every tenant busy on both instances: 16 callers each, every tenant three times per caller, a short statement at a time.
  const served = new Map<string, number>();
  const refused: Record<string, number> = {};
  const load = (platform: Platform) =>
    Promise.all(
      Array.from({ length: 16 }, async (_, caller) => {
        for (let i = 0; i < 3 * tenants.length; i++) {
          const tenant = tenants[(caller + i) % tenants.length]!;
          try {
            await platform.router.clientFor(tenant).$rows('SELECT pg_sleep(0.01)');
            served.set(tenant.slug, (served.get(tenant.slug) ?? 0) + 1);
          } catch (err) {
            // Back-pressure by design: no room for a pool within the wait, or the tenant's own cap.
            const kind = err instanceof TenantPoolBusyError || err instanceof TenantBusyError ? (err as Error).name : `unexpected: ${(err as Error).message}`;
            refused[kind] = (refused[kind] ?? 0) + 1;
          }
        }
      }),
    );
  await Promise.all([load(first), load(second)]);
  sampling = false;
  await sampler;

  t.same(
    Object.keys(refused).filter((k) => k.startsWith('unexpected')),
    [],
    `refused only by back-pressure: ${JSON.stringify(refused)}`,
  );
  for (const tenant of tenants) t.ok((served.get(tenant.slug) ?? 0) > 0, `${tenant.slug} was served`);
  for (const [i, n] of most.budgeted.entries()) {
    t.ok(n > 0 && n <= limits.budget, `instance ${i + 1}: at most ${n} connections budgeted, all servers together (budget ${limits.budget})`);
    t.equal(most.serversAtOnce[i], 3, `instance ${i + 1}: the budget was shared by connections to all three servers at once`);
  }
  // Reached directly, a server sees each instance's connections there, at worst a whole budget each.
  t.ok(
    most.direct > 0 && most.direct <= 2 * limits.budget,
    `the direct server saw ${most.direct} runtime connections at most (2 instances × budget ${limits.budget})`,
  );
  t.ok(
    most.perDatabaseBehindBouncer > 0 && most.perDatabaseBehindBouncer <= bouncerPoolSize,
    `behind PgBouncer: ${most.perDatabaseBehindBouncer} server connections per database at most (its pool size ${bouncerPoolSize}), for up to ${most.clients} client connections`,
  );
});
