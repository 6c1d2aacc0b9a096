/**
 * Regression: `--canary N` started with each server's pooled tables (every pooled tenant of that
 * server at once) although the README promised "N tenants first", and nothing let an operator
 * choose when the pooled tables go. Waves (`--waves 2,2,all --pooled-wave N`) count tenants'
 * own targets across tiers, put the pooled tables where the operator says, and a wave with a
 * failure stops the later ones. All through the real `npm run migrate`.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { migrationDirs } from '../../src/migrations/migration-files.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';
import { adminUrl, provision, startTestPlatform } from '../helper.js';
import { runScript } from '../support/run-script.js';

const platform = await startTestPlatform(t);
const schemas = [await provision(platform, 'schema', 's1'), await provision(platform, 'schema', 's2'), await provision(platform, 'schema', 's3')];
const dedicated = [await provision(platform, 'dedicated', 'd1'), await provision(platform, 'dedicated', 'd2')];
const pooled = [await provision(platform, 'pooled', 'p1'), await provision(platform, 'pooled', 'p2')];

const guard = '20990101000000_lead_names_not_poison';
const dir = await mkdtemp(join(tmpdir(), 'strata-waves-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await cp(migrationDirs.tenant, dir, { recursive: true });
await mkdir(join(dir, guard));
// Fails on any target holding a lead named 'poison', the way a constraint meets one tenant's bad row.
await writeFile(join(dir, guard, 'migration.sql'), `ALTER TABLE "leads" ADD CONSTRAINT "leads_name_not_poison" CHECK ("name" <> 'poison');\n`);

const migrate = (...args: string[]) =>
  runScript('migrate', [...args, '--migrations-dir', dir], { DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: platform.config.database.prefix, REDIS_URL: '' });

/** Runs `sql` on the tenant's leads inside its own tenant transaction. */
async function onLeads(tenant: Tenant, sql: (leads: string) => string) {
  const server = await platform.servers.byId(tenant.serverId);
  await withOwnerConnection(server, tenant.databaseName, (client) =>
    inTenantTransaction(client, tenant.id, () => client.query(sql(`${escapeIdentifier(tenant.schemaName)}.leads`))),
  );
}

/** Whether the guard migration is in the target's history. */
async function migrated(target: { serverId: string; databaseName: string; schemaName: string }) {
  const server = await platform.servers.byId(target.serverId);
  return withOwnerConnection(
    server,
    target.databaseName,
    async (c) => (await c.query(`SELECT 1 FROM ${escapeIdentifier(target.schemaName)}._strata_migrations WHERE name = $1`, [guard])).rowCount === 1,
  );
}
const pooledTables = { serverId: platform.defaultServer.id, databaseName: platform.defaultServer.tenantsDatabase, schemaName: 'public' };

/** The runner's JSON progress lines (stdout without a terminal). */
const events = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; target?: string; wave?: number; status?: string; message?: string });

t.test('plan shows the waves: tenants across tiers first, the pooled tables (and whom they carry) in the wave chosen', async (t) => {
  const res = await migrate('plan', '--waves', '2,2,all', '--pooled-wave', '2');
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /^wave 1\/3: 2 targets: 1 schema, 1 dedicated \(a failure stops the later waves\)$/m);
  t.match(res.stdout, /^wave 2\/3: 3 targets: 1 schema, 1 dedicated; pooled tables of default \(2 tenants\) \(a failure stops the later waves\)$/m);
  t.match(res.stdout, /^wave 3\/3: \d+ targets: 1 schema, \d+ spare$/m, 'the rest, spare schemas with it');
  t.match(res.stdout, /^pooled:default .*will apply: .*lead_names_not_poison; carries 2 pooled tenants \(p1-pooled, p2-pooled\)$/m);
  const lines = res.stdout.split('\n');
  const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
  t.ok(at('wave 2/3') < at('pooled:default') && at('pooled:default') < at('wave 3/3'), 'the pooled tables are listed under wave 2');

  const wrong = await migrate('plan', '--waves', '2,x');
  t.equal(wrong.code, 64, 'a bad spec is a usage error');
  t.match(wrong.stderr, /--waves takes positive sizes/);
  const outOfRange = await migrate('apply', '--waves', '2,all', '--pooled-wave', '3');
  t.match(outOfRange.stderr, /--pooled-wave must be between 1 and 2/);
  t.notOk(await migrated(schemas[0]!), 'nothing applied by a refused command');
});

t.test('a wave with a failure stops the later waves; the earlier ones stay migrated', async (t) => {
  await onLeads(pooled[0]!, (leads) => `INSERT INTO ${leads} (name) VALUES ('poison')`);
  const res = await migrate('apply', '--waves', '2,2,all', '--pooled-wave', '2');
  t.equal(res.code, 1, res.stderr);
  const log = events(res.stdout);
  const inWave = (n: number) => log.filter((e) => e.event.startsWith('target.') && e.wave === n);
  t.same(
    inWave(1).map((e) => e.event),
    ['target.applied', 'target.applied'],
    'wave 1: one schema and one dedicated target migrated',
  );
  t.match(log.find((e) => e.event === 'wave.started' && e.wave === 2)?.message, /pooled tables of default \(2 tenants\)/);
  t.same(
    inWave(2)
      .map((e) => `${e.target?.split(':')[0]} ${e.event}`)
      .sort(),
    ['dedicated target.applied', 'pooled target.failed', 'schema target.applied'],
    'wave 2: the pooled tables fail on one tenant’s row, the others in the wave finish',
  );
  t.match(log.find((e) => e.event === 'wave.finished' && e.wave === 2)?.message, /1 failed; stopping, the later waves are skipped/);
  t.notOk(
    log.some((e) => e.event === 'wave.started' && e.wave === 3),
    'wave 3 never starts',
  );
  t.match(res.stderr, /FAILED pooled:default: .*leads_name_not_poison/);
  t.match(res.stderr, /^wave 3\/3: \d+ targets, 0 migrated, 0 already current, 0 failed, \d+ skipped$/m);
  t.match(res.stderr, /\(halted\)/);

  const state = await Promise.all([...schemas, ...dedicated].map(migrated));
  t.same([state.filter(Boolean).length, state.filter((x) => !x).length], [4, 1], 'two waves of two migrated, the third schema left');
  t.notOk(await migrated(pooledTables), 'the pooled tables keep their last good version');
});

t.test('--canary N is one wave of N tenant targets, never the pooled tables; after a fix a re-run finishes', async (t) => {
  const pending = (await Promise.all([...schemas, ...dedicated].map(async (x) => ((await migrated(x)) ? [] : [x])))).flat();
  t.equal(pending.length, 1, 'one tenant target and the (still poisoned) pooled tables have work');
  const stopped = await migrate('apply', '--canary', '1');
  t.equal(stopped.code, 1);
  const log = events(stopped.stdout);
  t.same(
    log.filter((e) => e.event.startsWith('target.') && e.wave === 1).map((e) => `${e.target} ${e.event}`),
    [`schema:${pending[0]!.slug} target.applied`],
    'the canary is the tenant target, not the pooled tables of two tenants',
  );
  t.match(
    log.find((e) => e.event === 'target.failed'),
    { target: 'pooled:default', wave: 2 },
    'the pooled tables go last by default',
  );

  await onLeads(pooled[0]!, (leads) => `UPDATE ${leads} SET name = 'cured' WHERE name = 'poison'`);
  const done = await migrate('apply', '--canary', '1');
  t.equal(done.code, 0, done.stderr);
  t.match(done.stderr, /^wave 2\/2: \d+ targets, 1 migrated/m);
  for (const target of [...schemas, ...dedicated, pooledTables]) t.ok(await migrated(target));
  t.equal((await migrate('apply', '--canary', '1', '--waves', '1,all')).code, 64, '--canary and --waves together are refused');
});
