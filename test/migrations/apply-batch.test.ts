import pg from 'pg';
import t, { type Test } from 'tap';
import { applyBatch } from '../../src/migrations/apply-batch.js';
import { applyMigrations, historyOf } from '../../src/migrations/apply-migrations.js';
import { readHistories } from '../../src/migrations/fleet-history.js';
import { checksumOf, type MigrationFolder } from '../../src/migrations/migration-files.js';
import { connectionConfig } from '../../src/servers/server-access.js';
import { startTestPlatform } from '../helper.js';

const platform = await startTestPlatform(t);
const server = platform.defaultServer;

const migration = (name: string, sql: string): MigrationFolder => ({ name, sql, checksum: checksumOf(sql) });
const create = migration('20260101000000_create', 'CREATE TABLE items (id int PRIMARY KEY, note text)');
// Succeeds again when run twice: only the history can stop a second application.
const stamp = migration('20260102000000_stamp', `CREATE TABLE IF NOT EXISTS stamps (n int); INSERT INTO stamps VALUES (1)`);

async function connect(t: Test) {
  const client = new pg.Client(connectionConfig(server, 'owner', server.tenantsDatabase));
  await client.connect();
  t.teardown(() => client.end());
  return client;
}

let count = 0;
/** Schemas at `create`, as the fleet runner finds tenant schemas between deploys. */
async function migratedSchemas(db: pg.Client, n: number) {
  const schemas = Array.from({ length: n }, () => `batch_${++count}`);
  for (const schema of schemas) {
    await db.query(`CREATE SCHEMA ${schema}`);
    await applyMigrations(db, { schema, migrations: [create] });
  }
  return schemas;
}

const stamps = async (db: pg.Client, schema: string) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.stamps`).catch(() => ({ rows: [{ n: -1 }] }))).rows[0]!.n;

t.test('a batch applies and records each schema its own migrations in one transaction', async (t) => {
  const db = await connect(t);
  const schemas = await migratedSchemas(db, 3);
  const applied = await applyBatch(
    db,
    schemas.map((schema) => ({ schema, pending: [stamp] })),
    {},
  );
  for (const schema of schemas) {
    t.same(
      applied.get(schema)?.map((a) => a.name),
      [stamp.name],
      schema,
    );
    t.equal(await stamps(db, schema), 1, 'the migration ran in its own schema');
  }
  t.equal(await stamps(db, 'public'), -1, 'nothing ran outside the target schemas');
  const histories = await readHistories(db, [...schemas, 'batch_missing']);
  for (const schema of schemas)
    t.same(
      histories.get(schema)?.map((h) => h.name),
      [create.name, stamp.name],
    );
  t.same(histories.get('batch_missing'), [], 'a schema without history reads as empty');
});

t.test('a stale pending list cannot apply a migration twice: the batch rolls back whole', async (t) => {
  const db = await connect(t);
  const [done, fresh] = await migratedSchemas(db, 2);
  // Another runner applied `stamp` to `done` after this runner read its history.
  await applyMigrations(db, { schema: done!, migrations: [create, stamp] });

  await t.rejects(
    applyBatch(
      db,
      [done!, fresh!].map((schema) => ({ schema, pending: [stamp] })),
      {},
    ),
    { code: '23505' },
  );
  t.equal(await stamps(db, done!), 1, 'applied once, not twice');
  t.equal(await stamps(db, fresh!), -1, 'the other schema of the batch is untouched');
  const { rows } = await db.query(`SELECT name FROM ${historyOf(fresh!)}`);
  t.same(
    rows.map((r) => r.name),
    [create.name],
  );
  t.equal((await db.query('SELECT 1 AS ok')).rows[0].ok, 1, 'the connection is usable after the rollback');
});

t.test('a batch waiting for a schema another runner holds gives up at the lock timeout', async (t) => {
  const db = await connect(t);
  const other = await connect(t);
  const [held, free] = await migratedSchemas(db, 2);
  await other.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('strata.migrate.${held}', 0))`);
  await t.rejects(
    applyBatch(
      db,
      [held!, free!].map((schema) => ({ schema, pending: [stamp] })),
      { lockTimeoutMs: 100 },
    ),
    { code: '55P03' },
  );
  await other.query('ROLLBACK');
  t.equal(await stamps(db, free!), -1, 'nothing of the batch was applied');
});
