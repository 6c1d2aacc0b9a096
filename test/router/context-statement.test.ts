// The tenant context statement stays prepared on connections that are sessions of their own
// (src/router/scoped-query.ts): the one piece of state a connection keeps between tenants. These
// prove it carries nothing of a tenant: a connection that served tenant A, failed and rolled back
// answers tenant B with B's rows only; one that lost the statement is dropped; and behind a runtime
// endpoint (a pooler may multiplex sessions there) nothing stays prepared.
import { pino } from 'pino';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { PoolRegistry } from '../../src/router/pool-registry.js';
import { contextStatementName, missingStatementState } from '../../src/router/scoped-query.js';
import { TenantRouter } from '../../src/router/tenant-router.js';
import type { ServerRecord } from '../../src/servers/server-access.js';
import { startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);

/** A router whose pools hold one connection each, reaching the server as `endpoint` says. */
function oneConnectionRouter(endpoint: (server: ServerRecord) => ServerRecord = (server) => server) {
  const registry = new PoolRegistry(
    { poolMax: 1, dedicatedPoolMax: 1, maxPools: 10, connectionBudget: 10 },
    async (id) => endpoint(await platform.servers.byId(id)),
    pino({ level: 'silent' }),
  );
  const router = new TenantRouter({ registry });
  t.teardown(() => router.close());
  /** What the tenant's single connection is and carries between statements. */
  const session = async (tenant: Tenant) => {
    const pool = await registry.poolFor(tenant.serverId, tenant.databaseName);
    const { rows } = await pool.query<{ pid: number; tenant: string; statements: string[] }>(
      `SELECT pg_backend_pid() AS pid, current_setting('app.tenant_id', true) AS tenant,
              ARRAY(SELECT name || ': ' || statement FROM pg_prepared_statements ORDER BY name) AS statements`,
    );
    return rows[0]!;
  };
  return { router, registry, session };
}

const direct = oneConnectionRouter();

for (const tier of tiers) {
  t.test(`${tier}: a connection that served tenant A, failed and rolled back answers tenant B with B's rows only`, async (t) => {
    const { a, b } = pairs[tier];
    const ids = {
      [a.id]: (await direct.router.clientFor(a).lead.create({ data: { name: 'A' } })).id,
      [b.id]: (await direct.router.clientFor(b).lead.create({ data: { name: 'B' } })).id,
    };
    // One connection per database: pooled and schema tenants share it, dedicated ones have their own.
    const pids = { [a.id]: (await direct.session(a)).pid, [b.id]: (await direct.session(b)).pid };
    if (tier !== 'dedicated') t.equal(pids[a.id], pids[b.id], 'A and B share one connection');
    const steps = [
      (tenant: Tenant) => direct.router.clientFor(tenant).$rows<{ tenant_id: string }>('SELECT tenant_id FROM leads'),
      // A statement error after the context statement, in the same implicit transaction.
      (tenant: Tenant) =>
        direct.router.clientFor(tenant).$rows('SELECT 1/0').then(
          () => [],
          () => direct.router.clientFor(tenant).$rows<{ tenant_id: string }>('SELECT tenant_id FROM leads WHERE id = ANY($1)', [Object.values(ids)]),
        ),
      // A rolled-back transaction: the statement prepared before it is still there, its context is not.
      (tenant: Tenant) => {
        const db = direct.router.clientFor(tenant);
        return db
          .$transaction(async (tx) => {
            await tx.lead.create({ data: { name: 'rolled back' } });
            throw new Error('boom');
          })
          .catch(() => db.$rows<{ tenant_id: string }>('SELECT tenant_id FROM leads'));
      },
      (tenant: Tenant) => direct.router.clientFor(tenant).lead.findMany().then((rows) => rows.map((r) => ({ tenant_id: r.tenantId }))),
    ];
    for (let i = 0; i < 16; i++) {
      const tenant = i % 2 ? b : a;
      const rows = await steps[Math.floor(i / 2) % steps.length]!(tenant);
      t.ok(rows.length === 1 && rows.every((r) => r.tenant_id === tenant.id), `call ${i} sees only its tenant's row`);
      t.same(
        await direct.session(tenant),
        { pid: pids[tenant.id], tenant: '', statements: [`${contextStatementName}: SELECT set_config('app.tenant_id', $1, true), set_config('search_path', $2, true)`] },
        `call ${i} ran on the database's one connection, which keeps the context statement (no tenant in it) and no context`,
      );
    }
  });
}

t.test('a connection that lost the context statement fails that statement and is dropped, not reused', async (t) => {
  const { a } = pairs.pooled;
  const db = direct.router.clientFor(a);
  await db.$rows('SELECT 1');
  const before = await direct.session(a);
  t.ok(before.statements.length === 1, 'the statement is prepared');
  const pool = await direct.registry.poolFor(a.serverId, a.databaseName);
  await pool.query(`DEALLOCATE ${contextStatementName}`);
  await t.rejects(db.$rows('SELECT tenant_id FROM leads'), { code: missingStatementState });
  t.not((await direct.session(a)).pid, before.pid, 'a new connection replaced it');
  const rows = await db.$rows<{ tenant_id: string }>('SELECT tenant_id FROM leads');
  t.ok(rows.length > 0 && rows.every((r) => r.tenant_id === a.id), 'and serves the tenant again');
});

// A runtime endpoint of its own: the test points it at the same server, as a PgBouncer would be
// (test/adversarial/pgbouncer-soak.test.ts runs the whole soak through a real one).
const viaEndpoint = oneConnectionRouter((server) => ({ ...server, runtimeHost: server.host, runtimePort: server.port }));

for (const tier of tiers) {
  t.test(`${tier}: behind a runtime endpoint nothing stays prepared between statements`, async (t) => {
    const { a, b } = pairs[tier];
    for (const tenant of [a, b, a]) {
      const rows = await viaEndpoint.router.clientFor(tenant).$rows<{ tenant_id: string }>('SELECT tenant_id FROM leads');
      t.ok(rows.length > 0 && rows.every((r) => r.tenant_id === tenant.id), `${tenant.slug} sees only its rows`);
      t.same((await viaEndpoint.session(tenant)).statements, [], 'no statement is prepared on the connection');
    }
  });
}
