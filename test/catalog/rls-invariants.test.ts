import pg, { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { historyTable } from '../../src/migrations/apply-migrations.js';
import { databaseNames } from '../../src/platform/platform.js';
import { connectionConfig, withOwnerConnection } from '../../src/servers/server-access.js';
import { runtimeConnection, startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);
const server = platform.defaultServer;
const { owner, runtime } = platform.config.database;

/** Every place tenant rows live: the pooled tables, each tenant schema, each dedicated database. */
const targets = [
  ...new Map(
    tiers
      .flatMap((tier) => [pairs[tier].a, pairs[tier].b])
      .map((tn) => [`${tn.databaseName}/${tn.schemaName}`, { database: tn.databaseName, schema: tn.schemaName }]),
  ).values(),
];

const sqlState = (promise: Promise<unknown>) =>
  promise.then(
    () => 'no error',
    (err: { code?: string }) => err.code,
  );

t.test('there are five targets: public, two tenant schemas, two dedicated databases', async (t) => {
  t.equal(targets.length, 5);
});

interface TableFacts {
  table: string;
  owner: string;
  has_tenant_id: boolean;
  rls: boolean;
  forced: boolean;
  tenant_index: boolean;
  /** Unique indexes and foreign keys whose first column is not tenant_id. */
  unscoped_unique: string[];
  unscoped_fkeys: string[];
  policies: { cmd: string; permissive: string; qual: string | null; with_check: string | null }[];
}

const tableFacts = `
  SELECT c.relname AS table, pg_get_userbyid(c.relowner) AS owner,
         c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
         EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS has_tenant_id,
         EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                  WHERE i.indrelid = c.oid AND a.attname = 'tenant_id') AS tenant_index,
         array(SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = c.oid AND i.indisunique AND a.attname IS DISTINCT FROM 'tenant_id') AS unscoped_unique,
         array(SELECT k.conname::text FROM pg_constraint k
                 LEFT JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                WHERE k.conrelid = c.oid AND k.contype = 'f' AND a.attname IS DISTINCT FROM 'tenant_id') AS unscoped_fkeys,
         coalesce((SELECT json_agg(json_build_object('cmd', p.cmd, 'permissive', p.permissive, 'qual', p.qual, 'with_check', p.with_check))
                     FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname), '[]') AS policies
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> $2
   ORDER BY c.relname`;

const bindsTenant = (expr: string | null) => !!expr && expr.includes('tenant_id') && expr.includes("current_setting('app.tenant_id'");

for (const target of targets) {
  t.test(`${target.database}/${target.schema}: every table is tenant-keyed, forced under RLS and owned by the owner`, async (t) => {
    const tables = await withOwnerConnection(server, target.database, async (db) => {
      return (await db.query<TableFacts>(tableFacts, [target.schema, historyTable])).rows;
    });
    const names = tables.map((r) => r.table);
    t.ok(
      ['activities', 'deals', 'leads', 'users'].every((n) => names.includes(n)),
      `the tenant tables are all there (${names})`,
    );

    for (const facts of tables) {
      const at = facts.table;
      t.ok(facts.has_tenant_id, `${at} has tenant_id`);
      t.ok(facts.rls && facts.forced, `${at} has row security enabled and forced`);
      t.ok(facts.tenant_index, `${at} has an index led by tenant_id`);
      // A key without tenant_id first would make one tenant's values collide with (and so reveal) another's.
      t.same(facts.unscoped_unique, [], `${at}: every unique index leads with tenant_id`);
      t.same(facts.unscoped_fkeys, [], `${at}: every foreign key leads with tenant_id (another tenant's row is no valid target)`);
      t.equal(facts.owner, owner.role, `${at} is owned by the owner role`);
      t.ok(
        facts.policies.some((p) => p.cmd === 'ALL' && bindsTenant(p.qual) && bindsTenant(p.with_check)),
        `${at} has a FOR ALL policy with USING and WITH CHECK bound to app.tenant_id`,
      );
      // Permissive policies are OR-ed: a single loose one would open the table.
      for (const p of facts.policies.filter((p) => p.permissive === 'PERMISSIVE')) {
        t.ok(bindsTenant(p.qual ?? p.with_check), `${at}: every permissive policy is bound to the tenant`);
      }
    }
  });

  t.test(`${target.database}/${target.schema}: the runtime role owns nothing`, async (t) => {
    const [owned] = await withOwnerConnection(server, target.database, async (db) => {
      const { rows } = await db.query(
        `SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)::int AS relations,
                (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)::int AS schemas
           FROM pg_roles r WHERE r.rolname = $1`,
        [runtime.role],
      );
      return rows;
    });
    t.same(owned, { relations: 0, schemas: 0 });
  });
}

t.test('the runtime role has no power to bypass row security', async (t) => {
  const { rows } = await withOwnerConnection(server, server.tenantsDatabase, (db) =>
    db.query('SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1', [runtime.role]),
  );
  t.same(rows, [{ rolsuper: false, rolbypassrls: false, rolcreatedb: false, rolcreaterole: false }]);
  // Membership in another role (the owner, a superuser) would let it SET ROLE past every policy.
  const { rows: memberships } = await withOwnerConnection(server, server.tenantsDatabase, (db) =>
    db.query(`SELECT g.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = $1`, [
      runtime.role,
    ]),
  );
  t.same(memberships, [], 'it is a member of no role');
  const { rows: databases } = await withOwnerConnection(server, server.tenantsDatabase, (db) =>
    db.query(`SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)`, [runtime.role]),
  );
  t.same(databases, [], 'it owns no database');
});

t.test('the runtime role cannot connect to the catalog', async (t) => {
  const catalog = new pg.Client(connectionConfig(server, 'runtime', databaseNames(platform.config.database.prefix).catalog));
  t.equal(await sqlState(catalog.connect()), '42501');
  await catalog.end().catch(() => undefined);
});

for (const tier of tiers) {
  t.test(`${tier}: as the runtime role, only the tenant in context is visible or writable`, async (t) => {
    const { a, b } = pairs[tier];
    for (const name of ['a1', 'a2', 'a3']) await platform.router.clientFor(a).lead.create({ data: { name } });
    const db = await runtimeConnection(t, platform, a);
    await db.query(`SET search_path TO ${escapeIdentifier(a.schemaName)}`);
    const count = async () => (await db.query('SELECT count(*)::int AS n FROM leads')).rows[0].n as number;

    // Before anything has set app.tenant_id in this session: the setting does not exist at all.
    t.equal((await db.query(`SELECT current_setting('app.tenant_id', true) AS v`)).rows[0].v, null);
    t.equal(await count(), 0, 'no context: no rows');

    const countAs = async (tenant: Tenant) => {
      await db.query('BEGIN');
      try {
        await db.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
        const { rows } = await db.query<{ tenant_id: string }>('SELECT tenant_id FROM leads');
        return { count: rows.length, others: rows.filter((r) => r.tenant_id !== tenant.id).length };
      } finally {
        await db.query('ROLLBACK');
      }
    };

    // B's rows in A's target: pooled shares the tables; elsewhere put two there on purpose.
    if (tier === 'pooled') {
      for (const name of ['b1', 'b2']) await platform.router.clientFor(b).lead.create({ data: { name } });
    } else {
      await db.query('BEGIN');
      await db.query(`SELECT set_config('app.tenant_id', $1, true)`, [b.id]);
      await db.query(`INSERT INTO leads (name) VALUES ('b1'), ('b2')`);
      await db.query('COMMIT');
    }

    t.same(await countAs(a), { count: 3, others: 0 }, "A's context sees A's three rows");
    t.same(await countAs(b), { count: 2, others: 0 }, "B's context sees only B's two");

    t.equal(await count(), 0, 'context gone with its transaction: no rows');
    await db.query(`SELECT set_config('app.tenant_id', '', false)`);
    t.equal(await count(), 0, 'empty context: no rows');
    await db.query(`SELECT set_config('app.tenant_id', 'not-a-tenant', false)`);
    const garbage = await count().catch((err: { code?: string }) => err.code);
    t.ok(garbage === 0 || garbage === '22P02', `garbage context: an error or no rows, never rows (${garbage})`);
    await db.query(`RESET app.tenant_id`);

    await db.query('BEGIN');
    await db.query(`SELECT set_config('app.tenant_id', $1, true)`, [a.id]);
    t.equal(await sqlState(db.query(`INSERT INTO leads (tenant_id, name) VALUES ($1, 'planted')`, [b.id])), '42501', "A cannot write B's id");
    await db.query('ROLLBACK');
    await db.query('BEGIN');
    await db.query(`SELECT set_config('app.tenant_id', $1, true)`, [a.id]);
    t.equal(await sqlState(db.query(`UPDATE leads SET tenant_id = $1`, [b.id])), '42501', 'A cannot hand its rows to B');
    await db.query('ROLLBACK');
    t.same(await countAs(b), { count: 2, others: 0 }, 'nothing was planted');
  });
}
