/**
 * A fleet run meets a table another session holds locked: the migration's lock timeout (55P03)
 * is tried again with backoff (200, 400, 800 ms: src/migrations/fleet-runner.ts), so a lock held
 * briefly delays the target and one held past every retry fails it, naming the lock, with nothing
 * applied.
 */
import { escapeIdentifier } from 'pg';
import t from 'tap';
import { applyFleet } from '../../src/migrations/fleet-runner.js';
import { discoverTargets } from '../../src/migrations/fleet-targets.js';
import { checksumOf, migrationDirs, readMigrations } from '../../src/migrations/migration-files.js';
import { databaseNames } from '../../src/platform/platform.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { provision, startTestPlatform } from '../helper.js';

const platform = await startTestPlatform(t);
const tenant = await provision(platform, 'dedicated', 'locked');
const base = { catalog: await readMigrations(migrationDirs.catalog), tenant: await readMigrations(migrationDirs.tenant) };
const catalogTarget = { server: platform.defaultServer, database: databaseNames(platform.config.database.prefix).catalog };
const targets = () => discoverTargets(platform.catalog, catalogTarget, { tenant: [tenant.slug] });
/** Each test's migration comes after the previous ones': a target never runs ahead of its code. */
let known = base;
const adding = (name: string, column: string) => {
  const sql = `ALTER TABLE "leads" ADD COLUMN "${column}" INTEGER;\n`;
  known = { ...known, tenant: [...known.tenant, { name, sql, checksum: checksumOf(sql) }] };
  return known;
};

/** Holds a lock on the tenant's leads table for `ms` from when it resolves; `released` settles once it is let go. */
async function holdLeads(ms: number): Promise<{ released: Promise<void> }> {
  let locked!: () => void;
  const taken = new Promise<void>((resolve) => (locked = resolve));
  const held = withOwnerConnection(platform.defaultServer, tenant.databaseName, async (client) => {
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${escapeIdentifier(tenant.schemaName)}.leads IN ACCESS SHARE MODE`);
    locked();
    await new Promise((resolve) => setTimeout(resolve, ms));
    await client.query('COMMIT');
  });
  await taken;
  return { released: held };
}

async function hasColumn(column: string) {
  return withOwnerConnection(platform.defaultServer, tenant.databaseName, async (client) => {
    const { rowCount } = await client.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'leads' AND column_name = $2`, [
      tenant.schemaName,
      column,
    ]);
    return rowCount === 1;
  });
}

t.test('a lock held for a moment is waited out by the retries', async (t) => {
  const { released } = await holdLeads(500);
  const started = performance.now();
  const report = await applyFleet(await targets(), { migrations: adding('20990201000000_brief', 'brief'), lockTimeoutMs: 100 });
  const took = performance.now() - started;
  await released;
  t.same(report.counts, { current: 0, applied: 1, failed: 0, skipped: 0 }, JSON.stringify(report.targets));
  t.ok(await hasColumn('brief'));
  t.ok(took >= 400, `it waited for the lock (${Math.round(took)} ms)`);
});

t.test('a lock held past every retry fails the target with the lock timeout, nothing applied', async (t) => {
  const { released } = await holdLeads(3_000);
  const report = await applyFleet(await targets(), { migrations: adding('20990202000000_long', 'long'), lockTimeoutMs: 50, lockRetries: 2 });
  await released;
  const failed = report.targets.find((r) => r.status === 'failed');
  t.ok(failed, 'the tenant target failed');
  t.match(failed?.error, /lock timeout/, JSON.stringify(report.targets));
  t.notOk(await hasColumn('long'), 'the migration rolled back');
  const again = await applyFleet(await targets(), { migrations: known });
  t.equal(again.counts.failed, 0, 'applied once the lock is gone');
  t.ok(await hasColumn('long'));
});
