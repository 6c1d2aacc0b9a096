/**
 * Columns with a fixed set of values (lead status, deal stage, activity kind, user role and status)
 * are text domains, not enums. Regression: `status` was an enum, whose `=` is not leakproof, so
 * under RLS `WHERE status = …` could not seek in leads(tenant_id, status) ahead of the tenant
 * policy and filtered every row of the tenant (count by status cost 2.4–2.6× the same query with
 * an explicit tenant_id). Checked on every tier: the domains admit exactly the API's values, every
 * indexed column compares with a leakproof operator, and such filters are index conditions that
 * still count only the tenant's own rows.
 */
import { randomUUID } from 'node:crypto';
import pg, { escapeIdentifier } from 'pg';
import t from 'tap';
import { userRoles } from '../../src/auth/tokens.js';
import { activityKinds } from '../../src/crm/activities/activity-schemas.js';
import { dealStages } from '../../src/crm/deals/deal-schemas.js';
import { leadStatuses } from '../../src/crm/leads/lead-schemas.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { userStatuses } from '../../src/users/user-schemas.js';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { applyMigrations, historyTable } from '../../src/migrations/apply-migrations.js';
import { migrationDirs, readMigrations } from '../../src/migrations/migration-files.js';
import { tableChecksum, type TableChecksum } from '../../src/transfer/table-checksum.js';
import { tenantTables } from '../../src/transfer/tenant-tables.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';
import { runtimeConnection, startTestPlatform, tenantPairs, tiers } from '../helper.js';

const platform = await startTestPlatform(t);
const pairs = await tenantPairs(platform);

const domains: Record<string, readonly string[]> = {
  user_role: userRoles,
  user_status: userStatuses,
  lead_status: leadStatuses,
  deal_stage: dealStages,
  activity_kind: activityKinds,
};

async function asOwner<T>(tenant: Tenant, fn: (db: pg.ClientBase) => Promise<T>): Promise<T> {
  const server = await platform.servers.byId(tenant.serverId);
  return withOwnerConnection(server, tenant.databaseName, fn);
}

for (const tier of tiers) {
  const { a, b } = pairs[tier];

  t.test(`${tier}: each value domain admits exactly the API's values`, async (t) => {
    const { rows } = await asOwner(a, (db) =>
      db.query<{ domain: string; base: string; check: string }>(
        `SELECT d.typname AS domain, format_type(d.typbasetype, NULL) AS base, pg_get_constraintdef(c.oid) AS check
           FROM pg_type d JOIN pg_namespace n ON n.oid = d.typnamespace JOIN pg_constraint c ON c.contypid = d.oid
          WHERE n.nspname = $1 AND d.typtype = 'd' AND c.contype = 'c'`,
        [a.schemaName],
      ),
    );
    t.same(rows.map((r) => r.domain).toSorted(), Object.keys(domains).toSorted(), 'one domain per value column');
    for (const { domain, base, check } of rows) {
      t.equal(base, 'text', `${domain} is text`);
      const values = [...check.matchAll(/'([^']*)'::text/g)].map((m) => m[1]);
      t.same(values, domains[domain], `${domain}: ${check}`);
    }
  });

  t.test(`${tier}: no tenant column is an enum, and every indexed column compares with a leakproof =`, async (t) => {
    const { rows } = await asOwner(a, (db) =>
      db.query<{ column: string; type: string; leakproof: boolean | null }>(
        `SELECT DISTINCT c.relname || '.' || a.attname AS column, format_type(a.atttypid, NULL) AS type,
                (SELECT p.proleakproof FROM pg_amop o JOIN pg_operator op ON op.oid = o.amopopr JOIN pg_proc p ON p.oid = op.oprcode
                  WHERE o.amopfamily = oc.opcfamily AND o.amoplefttype = oc.opcintype AND o.amoprighttype = oc.opcintype
                    AND o.amopstrategy = 3) AS leakproof
           FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[]) AS k(attnum, opclass) ON true
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
           JOIN pg_opclass oc ON oc.oid = k.opclass
          WHERE n.nspname = $1 AND c.relname <> $2`,
        [a.schemaName, historyTable],
      ),
    );
    t.ok(
      rows.some((r) => r.column === 'leads.status'),
      'leads.status is indexed',
    );
    // An index condition ahead of the RLS policy must not be able to leak rows: leakproof only.
    t.same(
      rows.filter((r) => !r.leakproof).map((r) => `${r.column} (${r.type})`),
      [],
      'every indexed column',
    );
    const { rows: enums } = await asOwner(a, (db) =>
      db.query(
        `SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type ty ON ty.oid = a.atttypid
          WHERE n.nspname = $1 AND ty.typtype = 'e' AND NOT a.attisdropped`,
        [a.schemaName],
      ),
    );
    t.same(enums, [], 'no enum column');
  });

  t.test(`${tier}: a value outside the domain is refused by the database, not only by the API`, async (t) => {
    const db = await runtimeConnection(t, platform, a);
    await db.query(`SET search_path TO ${escapeIdentifier(a.schemaName)}`);
    await db.query('BEGIN');
    await db.query(`SELECT set_config('app.tenant_id', $1, true)`, [a.id]);
    const code = await db.query(`INSERT INTO leads (name, status) VALUES ('x', 'won')`).then(
      () => 'no error',
      (err: { code?: string }) => err.code,
    );
    await db.query('ROLLBACK');
    t.equal(code, '23514', 'check_violation');
  });

  t.test(`${tier}: under RLS, filters by status and stage are index conditions and count only the tenant's rows`, async (t) => {
    const db = await runtimeConnection(t, platform, a);
    await db.query(`SET search_path TO ${escapeIdentifier(a.schemaName)}`);
    const inContext = async <T>(tenant: Tenant, sql: string, values: unknown[] = [], end = 'ROLLBACK'): Promise<T[]> => {
      await db.query('BEGIN');
      try {
        await db.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
        return (await db.query(sql, values)).rows as T[];
      } finally {
        await db.query(end);
      }
    };
    // Both tenants' rows in A's target (pooled tables hold both anyway): the policy must tell them apart.
    const seed = `WITH l AS (INSERT INTO leads (name, status) SELECT 'lead', s FROM unnest($1::text[]) s RETURNING id, status)
                  INSERT INTO deals (title, amount, currency, stage, lead_id)
                  SELECT 'deal', 1, 'EUR', CASE WHEN status = 'qualified' THEN 'won' ELSE 'lost' END, id FROM l`;
    await inContext(a, seed, [['qualified', 'qualified', 'qualified', 'new']], 'COMMIT');
    await inContext(b, seed, [['qualified', 'contacted']], 'COMMIT');
    // The tables are tiny: without this the planner reads them whole, which shows nothing.
    await db.query('SET enable_seqscan = off');
    // Without statistics every index of the table costs the same and the choice among them depends
    // on their creation order (a replayed schema and one built from the baseline differ there).
    await asOwner(a, (owner) => owner.query(`ANALYZE ${escapeIdentifier(a.schemaName)}.leads, ${escapeIdentifier(a.schemaName)}.deals`));
    for (const [table, column, value] of [
      ['leads', 'status', 'qualified'],
      ['deals', 'stage', 'won'],
    ] as const) {
      const query = `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`;
      const plan = (await inContext<{ 'QUERY PLAN': string }>(a, `EXPLAIN (COSTS OFF) ${query}`, [value])).map((r) => r['QUERY PLAN']).join('\n');
      t.match(plan, new RegExp(`Index Cond: .*tenant_id = .*current_setting.*${column} = `), `${table}.${column}: one index condition with the policy`);
      t.notMatch(plan, /Filter:/, `${table}.${column}: no row is read to be filtered out\n${plan}`);
      t.same(await inContext(a, query, [value]), [{ n: 3 }], `${table}: A counts its own three`);
      t.same(await inContext(b, query, [value]), [{ n: 1 }], `${table}: B counts its own one, none of A's`);
    }
  });
}

t.test('upgrading a target with rows: every enum value survives as text, columns keep their places', async (t) => {
  const migrations = await readMigrations(migrationDirs.tenant);
  const at = migrations.findIndex((m) => m.name.endsWith('_enums_to_text_domains'));
  t.ok(at > 0, 'the migration is in the stream');
  const server = platform.defaultServer;
  const schema = 'upgrade_from_enums';
  const columns = (db: pg.ClientBase) =>
    db.query(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, [schema]);
  await withOwnerConnection(server, server.tenantsDatabase, async (db) => {
    await db.query(`CREATE SCHEMA ${schema}`);
    await applyMigrations(db, { schema, migrations: migrations.slice(0, at) });
    const before = (await columns(db)).rows;
    // tenant_id defaults from the tenant context.
    const tenantId = randomUUID();
    const begin = () => db.query(`BEGIN; SELECT set_config('app.tenant_id', '${tenantId}', true), set_config('search_path', '${schema}', true)`);
    await begin();
    await db.query(
      `INSERT INTO users (email, name, password_hash, role, status)
       SELECT r || '@example.com', r, 'x', r::"UserRole", CASE WHEN r = 'staff' THEN 'deactivated' ELSE 'active' END::"UserStatus"
         FROM unnest($1::text[]) r`,
      [userRoles],
    );
    await db.query(`INSERT INTO leads (name, status) SELECT s, s::"LeadStatus" FROM unnest($1::text[]) s`, [leadStatuses]);
    await db.query(`INSERT INTO deals (title, amount, currency, stage) SELECT s, 1, 'EUR', s::"DealStage" FROM unnest($1::text[]) s`, [dealStages]);
    await db.query(`INSERT INTO activities (kind, body) SELECT k::"ActivityKind", k FROM unnest($1::text[]) k`, [activityKinds]);
    await db.query('COMMIT');
    // What an archive's manifest and a move's verification compare: the rows' text.
    const checksums = () =>
      inTenantTransaction(db, tenantId, async () => {
        const sums: Record<string, TableChecksum> = {};
        for (const table of await tenantTables(db, schema)) sums[table.name] = await tableChecksum(db, schema, table, tenantId);
        return sums;
      });
    const checksumsBefore = await checksums();

    const applied = await applyMigrations(db, { schema, migrations });
    t.same(
      applied.map((m) => m.name),
      migrations.slice(at).map((m) => m.name),
      'the rest of the stream runs',
    );
    t.same((await columns(db)).rows, before, 'same columns, in the same order');
    t.same(await checksums(), checksumsBefore, 'every table checksums as before: the values read as the same text');
    await begin();
    const read = async (sql: string) => (await db.query(sql)).rows.map((r) => Object.values(r).join(' '));
    t.same(
      await read(`SELECT role, status FROM users ORDER BY name`),
      userRoles.map((r) => `${r} ${r === 'staff' ? 'deactivated' : 'active'}`).toSorted(),
      'user roles and statuses',
    );
    t.same(await read(`SELECT status FROM leads ORDER BY name`), leadStatuses.toSorted(), 'lead statuses');
    t.same(await read(`SELECT stage FROM deals ORDER BY title`), dealStages.toSorted(), 'deal stages');
    t.same(await read(`SELECT kind FROM activities ORDER BY body`), activityKinds.toSorted(), 'activity kinds');
    await db.query(`INSERT INTO users (email, name, password_hash) VALUES ('new@example.com', 'new', 'x')`);
    await db.query(`INSERT INTO leads (name) VALUES ('defaults')`);
    await db.query(`INSERT INTO deals (title, amount, currency) VALUES ('defaults', 1, 'EUR')`);
    t.same(await read(`SELECT role, status FROM users WHERE name = 'new'`), ['staff active'], 'user defaults');
    t.same(await read(`SELECT status FROM leads WHERE name = 'defaults'`), ['new'], 'lead default');
    t.same(await read(`SELECT stage FROM deals WHERE title = 'defaults'`), ['prospecting'], 'deal default');
    await db.query('ROLLBACK');
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
  });
});
