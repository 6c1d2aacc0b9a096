/**
 * Regression: one registered server down made `npm run migrate -- status|plan|apply` exit with
 * ECONNREFUSED, whatever the filter, and nothing on the healthy servers was migrated.
 */
import { pino } from 'pino';
import t from 'tap';
import { migrationDirs, readMigrations } from '../../src/migrations/migration-files.js';
import { releaseInstallation } from '../support/installations.js';
import { startPlatform } from '../../src/platform/platform.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { adminUrl, testConfig } from '../helper.js';
import { startExtraServer } from '../support/extra-server.js';
import { runScript } from '../support/run-script.js';

// The default server's pooled tables are left unmigrated, so a run has real work on a healthy server.
const config = testConfig();
const platform = await startPlatform(config, pino({ level: 'silent' }), { migratePooled: false });
t.teardown(async () => {
  await platform.close();
  await releaseInstallation(adminUrl(), config.database.prefix);
});
const extra = await startExtraServer(t, platform, 'far');
const provision = (slug: string, tier: 'pooled' | 'schema' | 'dedicated', server?: string) =>
  provisionTenant(platform.provisioning, { slug, name: slug, plan: 'free', tier, server });
// Placement goes by headroom and would pick the empty far server: the near tenants are pinned.
await provision('near-schema', 'schema', 'default');
await provision('near-dedicated', 'dedicated', 'default');
await provision('far-schema', 'schema', 'far');
await provision('far-dedicated', 'dedicated', 'far');
for (const n of [1, 2, 3, 4]) await provision(`far-p${n}`, 'pooled', 'far');
await extra.stop();

const migrate = (...args: string[]) => runScript('migrate', args, { DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: config.database.prefix, REDIS_URL: '' });
const tenantMigrations = await readMigrations(migrationDirs.tenant);
const pooledHistory = () =>
  withOwnerConnection(platform.defaultServer, platform.defaultServer.tenantsDatabase, async (c) => {
    const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename = '_strata_migrations'`);
    return rows[0]!.n ? (await c.query('SELECT name FROM public._strata_migrations')).rowCount : 0;
  });

t.test('status reports the down server as unreachable, inspects the rest, and exits 1 naming it', async (t) => {
  const res = await migrate('status');
  t.equal(res.code, 1, res.stderr);
  t.notMatch(res.stderr, /at .*\(.*\.ts/, 'no stack trace');
  t.match(res.stdout, /pooled:default\s+\(none\)\s+pending: 2026/, 'the healthy server’s pooled tables are inspected');
  t.match(res.stdout, /schema:near-schema\s+\S+\s+current/);
  t.match(res.stdout, /dedicated:far-dedicated\s+.*UNREACHABLE: server far \(127\.0\.0\.1:\d+\) is unreachable: .*ECONNREFUSED/);
  t.match(res.stderr, /UNREACHABLE server far: 4 target\(s\) not migrated/, 'pooled, spares, one schema, one dedicated');
  t.match(
    res.stdout,
    /^pooled:far .*UNREACHABLE: .*; carries 4 pooled tenants \(far-p1, far-p2, far-p3, …\)$/m,
    'the tenants behind the pooled tables are named',
  );
});

t.test('a filter that leaves the down server out does not touch it at all', async (t) => {
  const plan = await migrate('plan', '--server', 'default');
  t.equal(plan.code, 0, plan.stderr);
  t.match(plan.stdout, /pooled:default .* will apply: .*; carries 0 pooled tenants$/m);
  t.notMatch(plan.stdout + plan.stderr, /far|ECONNREFUSED/);
  const tenant = await migrate('status', '--tenant', 'near-dedicated');
  t.equal(tenant.code, 0, tenant.stderr);
  t.match(tenant.stdout, /^dedicated:near-dedicated\s+\S+\s+current$/m);
});

t.test('apply migrates every healthy target, fails only the down server’s, and says so', async (t) => {
  const res = await migrate('apply');
  t.equal(res.code, 1, res.stderr);
  t.equal(await pooledHistory(), tenantMigrations.length, 'the healthy pooled tables are migrated');
  t.match(res.stderr, /FAILED pooled:far: server far .* is unreachable/);
  t.match(res.stderr, /UNREACHABLE server far: 4 target\(s\) not migrated/);
  t.match(res.stderr, /targets in \d+ ms: 1 migrated, \d+ already current, 4 failed, 0 skipped/);
  const failures = await platform.catalog.migrationFailure.findMany({ orderBy: { targetId: 'asc' } });
  t.same(
    failures.map((f) => f.targetId),
    ['dedicated:far-dedicated', 'pooled:far', 'schema:far-schema', 'spare:far:*'],
  );

  await extra.start();
  const again = await migrate('apply');
  t.equal(again.code, 0, again.stderr);
  t.equal(await platform.catalog.migrationFailure.count(), 0, 'failures are cleared once the server is back');
});
