import pg from 'pg';
import t from 'tap';
import { applyMigrations, historyOf } from '../../src/migrations/apply-migrations.js';
import { readBaseline } from '../../src/migrations/baseline.js';
import { baselinePaths, checksumOf, migrationDirs, readMigrations } from '../../src/migrations/migration-files.js';
import { connectionConfig } from '../../src/servers/server-access.js';
import { startTestPlatform } from '../helper.js';

const platform = await startTestPlatform(t);
const server = platform.defaultServer;
const runtimeRole = platform.config.database.runtime.role;
const migrations = await readMigrations(migrationDirs.tenant);
const baseline = (await readBaseline(baselinePaths.tenant, migrations))!;

const db = new pg.Client(connectionConfig(server, 'owner', server.tenantsDatabase));
await db.connect();
t.teardown(() => db.end());

/**
 * Everything a migration can leave in a schema, as text with the schema's name taken out:
 * relations, columns in order with types, nullability and defaults, constraints, indexes, RLS
 * flags, policies, triggers, domains and types, privileges and default privileges.
 */
async function describe(schema: string): Promise<string[]> {
  const { rows } = await db.query<{ line: string }>(
    `WITH rel AS (
       SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
     )
     SELECT format('relation %s kind=%s rls=%s force=%s persistence=%s options=%s acl=%s', c.relname, c.relkind, c.relrowsecurity,
                   c.relforcerowsecurity, c.relpersistence, c.reloptions, c.relacl) AS line
       FROM pg_class c JOIN rel USING (oid)
     UNION ALL
     SELECT format('column %s.%s #%s %s notnull=%s default=%s', rel.relname, a.attname,
                   row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid))
       FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attnum > 0 AND NOT a.attisdropped AND rel.relkind IN ('r', 'p')
     UNION ALL
     SELECT format('constraint %s.%s %s', rel.relname, con.conname, pg_get_constraintdef(con.oid))
       FROM pg_constraint con JOIN rel ON rel.oid = con.conrelid
     UNION ALL
     SELECT format('index %s', pg_get_indexdef(i.indexrelid)) FROM pg_index i JOIN rel ON rel.oid = i.indrelid
     UNION ALL
     SELECT format('policy %s.%s %s %s %s using=%s check=%s', p.tablename, p.policyname, p.permissive, p.cmd, p.roles, p.qual, p.with_check)
       FROM pg_policies p WHERE p.schemaname = $1
     UNION ALL
     SELECT format('trigger %s', pg_get_triggerdef(tg.oid)) FROM pg_trigger tg JOIN rel ON rel.oid = tg.tgrelid WHERE NOT tg.tgisinternal
     UNION ALL
     SELECT format('type %s kind=%s base=%s notnull=%s default=%s checks=%s', ty.typname, ty.typtype, format_type(ty.typbasetype, ty.typtypmod),
                   ty.typnotnull, ty.typdefault,
                   (SELECT string_agg(pg_get_constraintdef(c.oid), ' AND ' ORDER BY c.conname) FROM pg_constraint c WHERE c.contypid = ty.oid))
       FROM pg_type ty JOIN pg_namespace n ON n.oid = ty.typnamespace
      WHERE n.nspname = $1 AND ty.typtype IN ('d', 'e', 'c') AND NOT EXISTS (SELECT 1 FROM rel WHERE rel.oid = ty.typrelid)
     UNION ALL
     SELECT format('schema acl=%s', n.nspacl) FROM pg_namespace n WHERE n.nspname = $1
     UNION ALL
     SELECT format('default acl %s %s', d.defaclobjtype, d.defaclacl)
       FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE n.nspname = $1`,
    [schema],
  );
  return rows.map((r) => r.line.replaceAll(`"${schema}".`, 'S.').replaceAll(`${schema}.`, 'S.')).sort();
}

const history = async (schema: string) =>
  (await db.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${historyOf(schema)} ORDER BY name`)).rows;

async function build(schema: string, options: { baseline?: typeof baseline; migrations?: typeof migrations } = {}) {
  await db.query(`CREATE SCHEMA ${schema}`);
  return applyMigrations(db, { schema, migrations: options.migrations ?? migrations, baseline: options.baseline, runtimeRole });
}

t.test('a schema built from the baseline is identical to one migrated step by step', async (t) => {
  await build('replayed_schema');
  const applied = await build('squashed_schema', { baseline });
  const replayed = await describe('replayed_schema');
  t.ok(replayed.length > 50, `the description covers the schema (${replayed.length} lines)`);
  t.same(await describe('squashed_schema'), replayed);
  t.same(await history('squashed_schema'), await history('replayed_schema'), 'the same history: every covered migration, its own checksum');
  t.same(
    applied.map((a) => a.name),
    migrations.map((m) => m.name),
  );
});

t.test('migrations after the baseline apply after it; a target with history replays', async (t) => {
  const sql = 'ALTER TABLE "leads" ADD COLUMN "rating" INTEGER;';
  const later = [...migrations, { name: '20990101000000_rating', sql, checksum: checksumOf(sql) }];
  await build('later_replayed', { migrations: later });
  await build('later_squashed', { migrations: later, baseline });
  t.same(await describe('later_squashed'), await describe('later_replayed'));

  // Half migrated already: the baseline is not for it, the rest is replayed.
  await build('partial', { migrations: migrations.slice(0, 1) });
  const rest = await applyMigrations(db, { schema: 'partial', migrations, baseline, runtimeRole });
  t.same(
    rest.map((a) => a.name),
    migrations.slice(1).map((m) => m.name),
  );
  t.same(await describe('partial'), await describe('replayed_schema'));
});

t.test('a baseline naming a migration the stream does not have is refused', async (t) => {
  await t.rejects(readBaseline(baselinePaths.tenant, migrations.slice(0, 1)), /not a migration of this stream/);
});
