import pg, { escapeIdentifier } from 'pg';
import t, { type Test } from 'tap';
import { applyMigrations, historyTable, MigrationError } from '../../src/migrations/apply-migrations.js';
import { checksumOf, type MigrationFolder } from '../../src/migrations/migration-files.js';
import { connectionConfig, withOwnerConnection } from '../../src/servers/server-access.js';
import { startTestPlatform } from '../helper.js';

const platform = await startTestPlatform(t);
const server = platform.defaultServer;
const runtimeRole = platform.config.database.runtime.role;

const migration = (name: string, sql: string): MigrationFolder => ({ name, sql, checksum: checksumOf(sql) });

async function connect(t: Test, role: 'owner' | 'runtime' = 'owner') {
  const client = new pg.Client(connectionConfig(server, role, server.tenantsDatabase));
  await client.connect();
  t.teardown(() => client.end());
  return client;
}

let schemas = 0;
/** A throwaway schema in the tenants database, as a schema tenant would have. */
async function freshSchema(db: pg.Client) {
  const schema = `mig_${++schemas}`;
  await db.query(`CREATE SCHEMA ${schema}`);
  return schema;
}

async function history(db: pg.Client, schema: string) {
  const { rows } = await db.query<{ name: string; checksum: string; duration_ms: number; applied_at: Date }>(
    `SELECT name, checksum, duration_ms, applied_at FROM ${schema}.${historyTable} ORDER BY name`,
  );
  return rows;
}

const names = (rows: { name: string }[]) => rows.map((r) => r.name);

async function tableExists(db: pg.Client, schema: string, table: string) {
  const { rows } = await db.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`${schema}.${table}`]);
  return rows[0].present as boolean;
}

const create = migration('20260101000000_create', 'CREATE TABLE items (id int PRIMARY KEY, note text)');
// Sleeps so its recorded duration is measurably non-zero.
const addTag = migration('20260102000000_add_tag', 'ALTER TABLE items ADD COLUMN tag text; SELECT pg_sleep(0.05)');
const seed = migration('20260103000000_seed', `INSERT INTO items (id, note, tag) VALUES (1, 'first', 'x')`);

t.test('applies pending migrations in name order and records them in the target', async (t) => {
  const db = await connect(t);
  const schema = await freshSchema(db);

  // Handed over out of order: each migration depends on the one before it by name.
  const applied = await applyMigrations(db, { schema, migrations: [seed, create, addTag] });

  t.same(names(applied), [create.name, addTag.name, seed.name]);
  t.ok(await tableExists(db, schema, 'items'), 'unqualified SQL runs in the target schema');
  t.notOk(await tableExists(db, 'public', 'items'));
  const rows = await history(db, schema);
  t.same(names(rows), [create.name, addTag.name, seed.name]);
  t.same(
    rows.map((r) => r.checksum),
    [create.checksum, addTag.checksum, seed.checksum],
  );
  t.same(
    rows.map((r) => r.duration_ms),
    applied.map((a) => a.durationMs),
  );
  t.ok(rows[1]!.duration_ms >= 50, `duration is measured (${rows[1]!.duration_ms} ms for a 50 ms migration)`);
});

t.test('a second run applies nothing; a run with a new migration applies only that one', async (t) => {
  const db = await connect(t);
  const schema = await freshSchema(db);
  await applyMigrations(db, { schema, migrations: [create, addTag] });
  const before = await history(db, schema);

  t.same(await applyMigrations(db, { schema, migrations: [create, addTag] }), []);
  t.same(await history(db, schema), before, 'history untouched');

  t.same(names(await applyMigrations(db, { schema, migrations: [create, addTag, seed] })), [seed.name]);
  t.equal((await db.query(`SELECT count(*)::int AS n FROM ${schema}.items`)).rows[0].n, 1);
});

t.test('a migration changed after it was applied is refused and nothing is applied', async (t) => {
  const db = await connect(t);
  const schema = await freshSchema(db);
  await applyMigrations(db, { schema, migrations: [create] });

  const edited = migration(create.name, 'CREATE TABLE items (id bigint PRIMARY KEY, note text)');
  await t.rejects(applyMigrations(db, { schema, migrations: [edited, addTag] }), {
    name: 'MigrationError',
    message: /checksum/,
    migration: create.name,
  });
  t.same(names(await history(db, schema)), [create.name]);
  const columns = await db.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'tag'`, [schema]);
  t.equal(columns.rowCount, 0, 'the pending migration did not run');
});

t.test('a target that has a migration this code does not know is refused', async (t) => {
  const db = await connect(t);
  const schema = await freshSchema(db);
  await applyMigrations(db, { schema, migrations: [create, addTag] });

  await t.rejects(applyMigrations(db, { schema, migrations: [create, seed] }), {
    name: 'MigrationError',
    message: /does not know/,
    migration: addTag.name,
  });
  t.same(names(await history(db, schema)), [create.name, addTag.name]);
  t.equal((await db.query(`SELECT count(*)::int AS n FROM ${schema}.items`)).rows[0].n, 0, 'the pending seed did not run');
});

t.test('a failing migration rolls back the whole run; the fixed run completes', async (t) => {
  const db = await connect(t);
  const schema = await freshSchema(db);
  await applyMigrations(db, { schema, migrations: [create] });

  const other = migration('20260102000000_other', 'CREATE TABLE other (id int PRIMARY KEY)');
  const broken = migration('20260103000000_broken', 'ALTER TABLE items ADD COLUMN price numeric(10,2) DEFAULT oops');
  const after = migration('20260104000000_after', 'CREATE TABLE later (id int PRIMARY KEY)');
  const err = await applyMigrations(db, { schema, migrations: [create, other, broken, after] }).catch((e: unknown) => e);
  t.type(err, MigrationError);
  t.equal((err as MigrationError).migration, broken.name);

  t.same(names(await history(db, schema)), [create.name], 'still at the last good version');
  t.notOk(await tableExists(db, schema, 'other'), 'the earlier migration of the failed run was undone');
  t.notOk(await tableExists(db, schema, 'later'));

  const fixed = migration(broken.name, 'ALTER TABLE items ADD COLUMN price numeric(10,2) DEFAULT 0');
  const applied = await applyMigrations(db, { schema, migrations: [create, other, fixed, after] });
  t.same(names(applied), [other.name, fixed.name, after.name]);
  t.same(names(await history(db, schema)), [create.name, other.name, fixed.name, after.name]);
  t.equal((await history(db, schema))[2]!.checksum, fixed.checksum);
});

t.test('concurrent runs on one target apply each migration exactly once', async (t) => {
  const [first, second] = [await connect(t), await connect(t)];
  const schema = await freshSchema(first);
  // The sleep holds the lock long enough that the second run starts while the first is applying.
  const counted = [
    migration('20260101000000_hits', 'CREATE TABLE hits (n int)'),
    migration('20260102000000_hit', 'INSERT INTO hits VALUES (1); SELECT pg_sleep(0.3)'),
  ];

  const runs = await Promise.all([first, second].map((db) => applyMigrations(db, { schema, migrations: counted })));

  t.same(runs.map((r) => r.length).sort(), [0, 2], 'one run applied both, the other found nothing pending');
  t.equal((await history(first, schema)).length, 2);
  t.equal((await first.query(`SELECT count(*)::int AS n FROM ${schema}.hits`)).rows[0].n, 1);
});

t.test('the runtime role gets row access to the tables but none to the history', async (t) => {
  const db = await connect(t);
  const schema = await freshSchema(db);
  await applyMigrations(db, { schema, migrations: [create], runtimeRole });

  const privileges = async (table: string) => {
    const { rows } = await db.query<{ privilege: string; granted: boolean }>(
      `SELECT p AS privilege, has_table_privilege($1, $2, p) AS granted
         FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p`,
      [runtimeRole, `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`],
    );
    return Object.fromEntries(rows.map((r) => [r.privilege, r.granted]));
  };
  t.same(await privileges('items'), { SELECT: true, INSERT: true, UPDATE: true, DELETE: true, TRUNCATE: false });
  t.same(await privileges(historyTable), { SELECT: false, INSERT: false, UPDATE: false, DELETE: false, TRUNCATE: false });

  const runtime = await connect(t, 'runtime');
  await runtime.query(`INSERT INTO ${schema}.items (id, note) VALUES (7, 'by runtime')`);
  await t.rejects(runtime.query(`SELECT * FROM ${schema}.${historyTable}`), { code: '42501' });
  await t.rejects(runtime.query(`CREATE TABLE ${schema}.sneaky (id int)`), { code: '42501' }, 'no DDL in the schema');
});

t.test('without a runtime role nothing is granted', async (t) => {
  const db = await connect(t);
  const schema = await freshSchema(db);
  await applyMigrations(db, { schema, migrations: [create] });
  const { rows } = await db.query(`SELECT has_table_privilege($1, $2, 'SELECT') AS granted`, [runtimeRole, `${schema}.items`]);
  t.equal(rows[0].granted, false);
});

// Regression: when the opening statements failed (here: no such schema), the transaction was left
// open and aborted on the connection, and its next user got "current transaction is aborted".
t.test('a target that cannot even be opened leaves the connection usable', async (t) => {
  await withOwnerConnection(platform.defaultServer, platform.defaultServer.tenantsDatabase, async (client) => {
    await t.rejects(applyMigrations(client, { schema: 'no_such_schema', migrations: [] }), { code: '3F000' });
    const { rows } = await client.query('SELECT 1 AS one');
    t.equal(rows[0].one, 1, 'the connection is out of the failed transaction');
  });
});
