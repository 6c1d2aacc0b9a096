// The tenant context statement stays prepared on connections that are sessions of their own
// (src/router/scoped-query.ts): the one piece of state a connection keeps between tenants. These
// prove it carries nothing of a tenant: a connection that served tenant A, failed and rolled back
// answers tenant B with B's rows only; one that lost the statement is dropped; and behind a runtime
// endpoint (a pooler may multiplex sessions there) nothing stays prepared.
import { escapeIdentifier } from 'pg';
import { pino } from 'pino';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { PoolRegistry } from '../../src/router/pool-registry.js';
import { contextStatementName, missingStatementState } from '../../src/router/scoped-query.js';
import { TenantRouter } from '../../src/router/tenant-router.js';
import { type ServerRecord, withOwnerConnection } from '../../src/servers/server-access.js';
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
const contextStatement =
  `${contextStatementName}: SELECT set_config('app.tenant_id', $1, true), set_config('search_path', $2, true), set_config('plan_cache_mode', $3, true), ` +
  `set_config('statement_timeout', $4, true)`;

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
        direct.router
          .clientFor(tenant)
          .$rows('SELECT 1/0')
          .then(
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
      (tenant: Tenant) =>
        direct.router
          .clientFor(tenant)
          .lead.findMany()
          .then((rows) => rows.map((r) => ({ tenant_id: r.tenantId }))),
    ];
    for (let i = 0; i < 16; i++) {
      const tenant = i % 2 ? b : a;
      const rows = await steps[Math.floor(i / 2) % steps.length]!(tenant);
      t.ok(rows.length === 1 && rows.every((r) => r.tenant_id === tenant.id), `call ${i} sees only its tenant's row`);
      const session = await direct.session(tenant);
      t.same(
        { pid: session.pid, tenant: session.tenant },
        { pid: pids[tenant.id], tenant: '' },
        `call ${i} ran on the database's one connection, which keeps no context`,
      );
      t.ok(session.statements.includes(contextStatement), 'it keeps the context statement');
      t.notOk(
        session.statements.some((statement) => statement.includes(a.id) || statement.includes(b.id)),
        'no statement it keeps holds a tenant',
      );
    }
  });
}

t.test('a connection that lost the context statement fails that statement and is dropped, not reused', async (t) => {
  const { a } = pairs.pooled;
  const db = direct.router.clientFor(a);
  await db.$rows('SELECT 1');
  const before = await direct.session(a);
  t.ok(before.statements.includes(contextStatement), 'the statement is prepared');
  const pool = await direct.registry.poolFor(a.serverId, a.databaseName);
  await pool.query(`DEALLOCATE ${contextStatementName}`);
  await t.rejects(db.$rows('SELECT tenant_id FROM leads'), { code: missingStatementState });
  t.not((await direct.session(a)).pid, before.pid, 'a new connection replaced it');
  const rows = await db.$rows<{ tenant_id: string }>('SELECT tenant_id FROM leads');
  t.ok(rows.length > 0 && rows.every((r) => r.tenant_id === a.id), 'and serves the tenant again');
});

/** The statements `tenant`'s connection keeps besides the context statement: text → name. */
async function kept(tenant: Tenant): Promise<Map<string, string>> {
  const { statements } = await direct.session(tenant);
  const others = statements.filter((s) => s !== contextStatement).map((s) => s.split(': ') as [string, string]);
  return new Map(others.map(([name, text]) => [text, name]));
}

const ownRows = (tenant: Tenant, rows: { tenant_id: string }[]) => rows.length > 0 && rows.every((r) => r.tenant_id === tenant.id);

for (const tier of tiers) {
  t.test(`${tier}: a statement used twice stays prepared, once per schema, and still answers each tenant with its own rows`, async (t) => {
    const { a, b } = pairs[tier];
    const text = `SELECT tenant_id FROM leads WHERE name <> '${tier} kept'`;
    for (const tenant of [a, a, b, b, a, b]) t.ok(ownRows(tenant, await direct.router.clientFor(tenant).$rows(text)), `${tenant.slug} sees only its rows`);
    const names = [...(await kept(a)).entries()].filter(([statement]) => statement === text);
    t.equal(names.length, 1, 'the statement is prepared under one name per connection');
    if (tier === 'schema') {
      // Same text, other schema: another statement, prepared under its own name.
      const all = await direct.registry
        .poolFor(a.serverId, a.databaseName)
        .then((pool) => pool.query(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1`, [text]));
      t.equal(all.rows[0].n, 2, "each schema's tenant has its own");
    }
  });
}

t.test('a kept statement is planned for its values every time, unless its caller allows one plan for any', async (t) => {
  const { a } = pairs.pooled;
  const db = direct.router.clientFor(a);
  const pool = await direct.registry.poolFor(a.serverId, a.databaseName);
  const mode = async () => (await pool.query<{ mode: string }>(`SELECT current_setting('plan_cache_mode') AS mode`)).rows[0]!.mode;
  const before = await mode();
  const [lead] = await db.$rows<{ id: string }>('SELECT id FROM leads LIMIT 1');
  const texts = {
    custom: `SELECT tenant_id FROM leads WHERE id = $1 AND name <> 'custom'`,
    generic: `SELECT tenant_id FROM leads WHERE id = $1 AND name <> 'generic'`,
  };
  for (let i = 0; i < 8; i++) {
    await db.$rows(texts.custom, [lead!.id]);
    await db.$rows(texts.generic, [lead!.id], { genericPlan: true });
  }
  const { rows } = await pool.query<{ statement: string; generic_plans: string; custom_plans: string }>(
    `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = ANY($1)`,
    [Object.values(texts)],
  );
  const plans = Object.fromEntries(rows.map((r) => [r.statement, { generic: Number(r.generic_plans), custom: Number(r.custom_plans) }]));
  t.same(plans[texts.custom], { generic: 0, custom: 7 }, 'planned for its values on each of its 7 kept executions');
  t.ok(plans[texts.generic]!.generic > 0, 'the one allowed a plan for any values uses PostgreSQL’s generic plan');
  t.equal(await mode(), before, 'the plan mode is set for the statement only, not the session');
});

t.test('a statement used once is not prepared', async (t) => {
  const { a } = pairs.pooled;
  const text = `SELECT tenant_id FROM leads WHERE name <> 'once'`;
  await direct.router.clientFor(a).$rows(text);
  t.notOk((await kept(a)).has(text));
});

t.test('a kept statement whose table changed columns (a migration) is planned again, not failed', async (t) => {
  const { a } = pairs.schema;
  const db = direct.router.clientFor(a);
  const text = 'SELECT * FROM leads ORDER BY id LIMIT 1';
  await db.$rows(text);
  await db.$rows(text);
  t.ok((await kept(a)).has(text), 'prepared');
  const alter = (sql: string) => withOwnerConnection(platform.defaultServer, a.databaseName, (owner) => owner.query(sql));
  await alter(`ALTER TABLE ${escapeIdentifier(a.schemaName)}.leads ADD COLUMN kept_test int NOT NULL DEFAULT 7`);
  t.teardown(() => alter(`ALTER TABLE ${escapeIdentifier(a.schemaName)}.leads DROP COLUMN IF EXISTS kept_test`));
  const [row] = await db.$rows<{ kept_test: number }>(text);
  t.equal(row?.kept_test, 7, 'the new column is read');
  const [again] = await db.$rows<{ kept_test: number }>(text);
  t.equal(again?.kept_test, 7, 'and the statement is kept again');
});

t.test('a statement that failed is closed, and runs again when next used', async (t) => {
  const { a } = pairs.pooled;
  const db = direct.router.clientFor(a);
  const text = 'SELECT count(*)::int / $1::int AS n FROM leads';
  await db.$rows(text, [1]);
  await db.$rows(text, [1]);
  t.ok((await kept(a)).has(text), 'prepared');
  await t.rejects(db.$rows(text, [0]), { code: '22012' });
  await db.$rows('SELECT 1');
  t.notOk((await kept(a)).has(text), 'closed with the next statement');
  const [row] = await db.$rows<{ n: number }>(text, [1]);
  t.ok(row!.n > 0, 'and it runs again');
});

t.test('a connection keeps at most 100 statements, closing the least recently used', async (t) => {
  const { a } = pairs.dedicated;
  const db = direct.router.clientFor(a);
  const text = (i: number) => `SELECT ${i} AS n, count(*) FROM leads`;
  for (let i = 0; i < 130; i++) for (let use = 0; use < 2; use++) await db.$rows(text(i));
  await db.$rows(text(129)); // the pipeline that closes what the last one evicted
  const statements = await kept(a);
  t.equal(statements.size, 100, '100 kept');
  t.ok(statements.has(text(129)) && statements.has(text(30)), 'the most recent are kept');
  t.notOk(statements.has(text(29)), 'the least recently used is closed');
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
