import pg, { escapeIdentifier } from 'pg';
import t from 'tap';
import { historyTable, migrationLockKey } from '../../src/migrations/apply-migrations.js';
import { applyFleet } from '../../src/migrations/fleet-runner.js';
import { discoverTargets } from '../../src/migrations/fleet-targets.js';
import { migrationDirs, readMigrations } from '../../src/migrations/migration-files.js';
import { databaseNames, type Platform } from '../../src/platform/platform.js';
import type { ServerRecord } from '../../src/servers/server-access.js';
import { claimSpare, listSpares } from '../../src/tenants/spare-schemas.js';
import { scoreMigration } from '../fixtures/fleet-migration.js';
import { startTestPlatform } from '../helper.js';

const inTenantsDatabase = <T>(platform: Platform, fn: (client: pg.PoolClient) => Promise<T>) =>
  platform.provisioning.owners.with(platform.defaultServer, platform.defaultServer.tenantsDatabase, fn);

async function sparesOf(platform: Platform) {
  await platform.provisioning.spares.settle();
  return inTenantsDatabase(platform, listSpares);
}

t.test('a deploy migrates the spare schemas, so a tenant claiming one after it is current', async (t) => {
  const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '2' });
  const spares = await sparesOf(platform);
  t.equal(spares.length, 2);
  const lister = (server: ServerRecord) => platform.provisioning.owners.with(server, server.tenantsDatabase, listSpares);
  const catalogTarget = { server: platform.defaultServer, database: databaseNames(platform.config.database.prefix).catalog };
  const targets = await discoverTargets(platform.catalog, catalogTarget, { tier: ['spare'] }, lister);
  t.same(
    targets.map((x) => x.id).sort(),
    spares.map((s) => `spare:default:${s}`),
  );

  const migrations = { catalog: await readMigrations(migrationDirs.catalog), tenant: [...(await readMigrations(migrationDirs.tenant)), scoreMigration()] };
  const report = await applyFleet(targets, { migrations });
  t.same(report.counts, { current: 0, applied: 2, failed: 0, skipped: 0 });
  for (const spare of spares) {
    const { rows } = await inTenantsDatabase(platform, (c) =>
      c.query(`SELECT name FROM ${escapeIdentifier(spare)}.${escapeIdentifier(historyTable)} WHERE name = $1`, [scoreMigration().name]),
    );
    t.equal(rows.length, 1, `${spare} carries the new migration`);
  }
});

t.test('a spare claimed while the runner waits for it counts as current, not failed', async (t) => {
  const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '1' });
  const [spare] = await sparesOf(platform);
  const lister = async () => [spare!];
  const catalogTarget = { server: platform.defaultServer, database: databaseNames(platform.config.database.prefix).catalog };
  const targets = await discoverTargets(platform.catalog, catalogTarget, { tier: ['spare'] }, lister);
  await inTenantsDatabase(platform, (c) => c.query(`ALTER SCHEMA ${escapeIdentifier(spare!)} RENAME TO t_claimed_meanwhile`));
  const migrations = { catalog: await readMigrations(migrationDirs.catalog), tenant: [...(await readMigrations(migrationDirs.tenant)), scoreMigration()] };
  const report = await applyFleet(targets, { migrations });
  t.same(report.counts, { current: 1, applied: 0, failed: 0, skipped: 0 });
});

t.test('provisioning passes over a spare the migration runner holds', async (t) => {
  const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '1' });
  const [spare] = await sparesOf(platform);
  await inTenantsDatabase(platform, async (runner) => {
    await runner.query(`BEGIN; SELECT pg_advisory_xact_lock(${migrationLockKey(spare!)})`);
    try {
      t.equal(await inTenantsDatabase(platform, (c) => claimSpare(c, 't_wants_a_spare')), false, 'the held spare is not taken');
    } finally {
      await runner.query('ROLLBACK');
    }
  });
  const claimed = await inTenantsDatabase(platform, (c) => claimSpare(c, 't_wants_a_spare'));
  t.equal(claimed, true, 'released, it is claimed');
  t.same(await sparesOf(platform).then((s) => s.filter((x) => x === spare)), []);
});
