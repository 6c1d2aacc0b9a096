// The pool-leak soak with all tenant traffic passing a PgBouncer in transaction mode, where
// consecutive transactions of one client connection may run on different server connections and
// one server connection serves many clients: only transaction-local tenant context is safe there.
import t from 'tap';
import { resolveSecret } from '../../src/config/config.js';
import { adminUrl, startTestPlatform, testConfig } from '../helper.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { startPgBouncer } from '../support/pgbouncer.js';
import { soak } from './soak-scenario.js';

t.test('the pool-leak soak through PgBouncer in transaction mode', { skip: skipWithout(optionalTools.pgbouncer) }, async (t) => {
  const { runtime } = testConfig().database;
  const server = new URL(adminUrl());
  const bouncer = await startPgBouncer(t, {
    server: { host: server.hostname, port: Number(server.port || 5432) },
    users: [{ name: runtime.role, password: resolveSecret(runtime.secretRef) }],
    adminUser: runtime.role,
  });
  const platform = await startTestPlatform(t, {
    STRATA_POOL_MAX: '2',
    STRATA_DEDICATED_POOL_MAX: '1',
    STRATA_RUNTIME_HOST: bouncer.host,
    STRATA_RUNTIME_PORT: String(bouncer.port),
  });

  const transactions = async () => {
    const stats = await bouncer.admin('SHOW STATS');
    const prefix = `${platform.config.database.prefix}_`;
    return stats.filter((row) => String(row.database).startsWith(prefix)).reduce((sum, row) => sum + Number(row.total_xact_count), 0);
  };
  const settings = await bouncer.admin('SHOW CONFIG');
  const before = await transactions();

  await soak(t, platform, { requests: 400, concurrency: 60 });

  t.test('tenant traffic went through PgBouncer in transaction mode', async (t) => {
    t.match(platform.defaultServer, { runtimeHost: bouncer.host, runtimePort: bouncer.port }, 'the default server’s runtime endpoint is PgBouncer');
    t.equal(settings.find((row) => row.key === 'pool_mode')?.value, 'transaction', 'PgBouncer pools in transaction mode');
    const through = (await transactions()) - before;
    t.ok(through >= 400, `${through} transactions passed PgBouncer for this installation's databases`);
  });
});
