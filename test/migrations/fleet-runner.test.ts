import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg, { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { applyFleet, inspectFleet } from '../../src/migrations/fleet-runner.js';
import { discoverTargets, type TargetFilter } from '../../src/migrations/fleet-targets.js';
import { checksumOf, migrationDirs, readMigrations } from '../../src/migrations/migration-files.js';
import { diffSql } from '../../src/migrations/schema-engine.js';
import { databaseNames } from '../../src/platform/platform.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { scoreMigration } from '../fixtures/fleet-migration.js';
import { adminUrl, provision, startTestPlatform } from '../helper.js';

const platform = await startTestPlatform(t);
const schemas = await Promise.all(['s1', 's2', 's3', 's4'].map((label) => provision(platform, 'schema', label)));
const dedicated = await Promise.all(['d1', 'd2'].map((label) => provision(platform, 'dedicated', label)));
await provision(platform, 'pooled', 'p1');

const base = {
  catalog: await readMigrations(migrationDirs.catalog),
  tenant: await readMigrations(migrationDirs.tenant),
};
const withScore = { ...base, tenant: [...base.tenant, scoreMigration()] };
/** Each test builds on what the previous ones applied: a target never runs ahead of its code. */
let applied = withScore;
const adding = (name: string, sql: string) => ({ ...applied, tenant: [...applied.tenant, fleetMigration(name, sql)] });
const catalogTarget = { server: platform.defaultServer, database: databaseNames(platform.config.database.prefix).catalog };
const targets = (filter?: TargetFilter) => discoverTargets(platform.catalog, catalogTarget, filter);

/** The column's presence and the history row, read together: they must always agree. */
async function scoreState(tenant: { serverId: string; databaseName: string; schemaName: string }) {
  const server = await platform.servers.byId(tenant.serverId);
  return withOwnerConnection(server, tenant.databaseName, async (client) => {
    const column = await client.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'leads' AND column_name = 'score'`, [
      tenant.schemaName,
    ]);
    const history = await client.query(`SELECT count(*)::int AS n FROM ${escapeIdentifier(tenant.schemaName)}._strata_migrations WHERE name = $1`, [
      scoreMigration().name,
    ]);
    return { column: column.rowCount === 1, recorded: history.rows[0].n as number };
  });
}

const everyTenantTarget = () => [
  ...schemas,
  ...dedicated,
  { serverId: platform.defaultServer.id, databaseName: platform.defaultServer.tenantsDatabase, schemaName: 'public' },
];

t.test('discovery finds the catalog, the pooled tables, every schema and every dedicated database', async (t) => {
  const found = (await targets()).map((x) => x.id).sort();
  t.same(found, [
    'catalog',
    'dedicated:d1-dedicated',
    'dedicated:d2-dedicated',
    'pooled:default',
    'schema:s1-schema',
    'schema:s2-schema',
    'schema:s3-schema',
    'schema:s4-schema',
  ]);
  t.same(
    (await targets({ tier: ['schema'], tenant: ['s2-schema'] })).map((x) => x.id),
    ['schema:s2-schema'],
  );
});

t.test('status and plan show the pending migration everywhere; apply runs it once; re-running is a no-op', async (t) => {
  const states = await inspectFleet(await targets(), { migrations: withScore });
  for (const s of states.filter((s) => s.kind !== 'catalog')) t.same(s.pending, [scoreMigration().name], `${s.target} pending`);
  t.same(states.find((s) => s.kind === 'catalog')?.pending, []);

  const first = await applyFleet(await targets(), { migrations: withScore, concurrency: 2 });
  t.ok(first.ok);
  t.equal(first.counts.applied, 7, 'pooled + 4 schemas + 2 dedicated');
  for (const tenant of everyTenantTarget()) t.same(await scoreState(tenant), { column: true, recorded: 1 });

  const again = await applyFleet(await targets(), { migrations: withScore });
  t.same(again.counts, { current: 8, applied: 0, failed: 0, skipped: 0 });
});

t.test('a target that fails keeps its last good version, the others complete, and a fix finishes it', async (t) => {
  const next = adding('20990102000000_lead_rank', 'ALTER TABLE "leads" ADD COLUMN "rank" INTEGER;');
  const broken = schemas[1]!;
  await withOwnerConnection(platform.defaultServer, broken.databaseName, (c) =>
    c.query(`ALTER TABLE ${escapeIdentifier(broken.schemaName)}.leads ADD COLUMN rank text`),
  );
  const report = await applyFleet(await targets(), { migrations: next });
  t.notOk(report.ok);
  const failed = report.targets.filter((r) => r.status === 'failed');
  t.same(
    failed.map((r) => r.target),
    [`schema:${broken.slug}`],
  );
  t.equal(failed[0]!.migration, '20990102000000_lead_rank');
  t.match(failed[0]!.error, /already exists/);
  t.equal(report.counts.applied, 6, 'every other tenant target migrated');

  const [state] = await inspectFleet(await targets({ tenant: [broken.slug] }), { migrations: next });
  t.same(state!.pending, ['20990102000000_lead_rank'], 'the failed target stays at its last good version');

  await withOwnerConnection(platform.defaultServer, broken.databaseName, (c) =>
    c.query(`ALTER TABLE ${escapeIdentifier(broken.schemaName)}.leads DROP COLUMN rank`),
  );
  const fixed = await applyFleet(await targets(), { migrations: next });
  t.same(fixed.counts, { current: 7, applied: 1, failed: 0, skipped: 0 });
  applied = next;
});

t.test('two runners started at once apply each migration exactly once per target', async (t) => {
  const next = adding('20990103000000_seq', 'CREATE TABLE "runs" ("tenant_id" uuid, "n" serial); INSERT INTO "runs" DEFAULT VALUES;');
  const [a, b] = await Promise.all([applyFleet(await targets(), { migrations: next }), applyFleet(await targets(), { migrations: next })]);
  t.equal(a.counts.failed + b.counts.failed, 0);
  t.equal(a.counts.applied + b.counts.applied, 7, 'each target migrated by exactly one runner');
  for (const tenant of everyTenantTarget()) {
    const server = await platform.servers.byId(tenant.serverId);
    const rows = await withOwnerConnection(server, tenant.databaseName, (c) =>
      c.query(`SELECT count(*)::int AS n FROM ${escapeIdentifier(tenant.schemaName)}.runs`),
    );
    t.equal(rows.rows[0].n, 1, `${tenant.schemaName}@${tenant.databaseName}: the migration's insert ran once`);
  }
  applied = next;
});

t.test('an applied migration whose file changed is refused, everywhere it was applied', async (t) => {
  const edited = {
    ...applied,
    tenant: applied.tenant.map((m) => (m.name === scoreMigration().name ? { ...m, sql: '-- edited\n', checksum: checksumOf('-- edited\n') } : m)),
  };
  const states = await inspectFleet(await targets({ tier: ['schema'] }), { migrations: edited });
  for (const s of states) t.same(s.changed, [scoreMigration().name]);
  const report = await applyFleet(await targets({ tier: ['schema'] }), { migrations: edited });
  t.equal(report.counts.failed, 4);
  t.ok(report.targets.every((r) => /checksum/.test(r.error ?? '')));
});

t.test('a failing first wave (a canary) stops the run before the rest of the fleet', async (t) => {
  const next = adding('20990104000000_bad', 'SELECT 1/0;');
  const report = await applyFleet(await targets({ tier: ['schema'] }), { migrations: next, waves: { sizes: [1] } });
  t.equal(report.counts.failed, 1);
  t.equal(report.counts.skipped, 3);
  t.ok(report.halted);
});

t.test('a runner killed mid-run is finished by the next one; nothing is recorded without its effect', async (t) => {
  const more: Tenant[] = [];
  for (let i = 0; i < 12; i++) more.push(await provision(platform, 'schema', `k${i}`));
  const child = spawn(
    process.execPath,
    ['--import=tsx', 'test/fixtures/run-fleet.ts', JSON.stringify({ prefix: platform.config.database.prefix, slugs: more.map((x) => x.slug), batchSize: 2 })],
    {
      env: { ...process.env, DATABASE_URL: adminUrl() },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let finished = 0;
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      finished += (chunk.toString().match(/"event":"target\.applied"/g) ?? []).length;
      if (finished >= 3 && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  // Batches of two schemas: the kill lands between batches or inside one, whose transaction then rolls back.
  const states = await Promise.all(more.map(scoreState));
  t.ok(finished >= 3, `the runner was killed mid-run, after ${finished} targets`);
  t.ok(
    states.some((s) => s.recorded === 0),
    'the kill left some targets unmigrated',
  );
  for (const s of states) t.equal(s.column, s.recorded === 1, 'column present exactly when recorded');

  const report = await applyFleet(await targets({ tenant: more.map((x) => x.slug) }), { migrations: withScore });
  t.equal(report.counts.failed, 0);
  for (const s of await Promise.all(more.map(scoreState))) t.same(s, { column: true, recorded: 1 });
});

t.test('create writes the SQL for an added column; check sees the drift', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-schema-'));
  const schemaPath = join(dir, 'schema.prisma');
  await copyFile(join(migrationDirs.tenant, '..', 'schema.prisma'), schemaPath);
  const text = await readFile(schemaPath, 'utf8');
  await writeFile(schemaPath, text.replace('  source     String?\n', '  source     String?\n  website    String?\n'));
  const migrations = { kind: 'migrations' as const, baseDir: migrationDirs.tenant, folders: base.tenant };
  // Shadow databases as a run killed two hours ago and a concurrent run would have them.
  const now = Math.floor(Date.now() / 1000);
  const abandoned = `prisma_shadow_${now - 7200}_killedrun`;
  const concurrent = `prisma_shadow_${now - 60}_runningnow`;
  await adminQuery(`CREATE DATABASE ${abandoned}`);
  await adminQuery(`CREATE DATABASE ${concurrent}`);
  t.teardown(() => adminQuery(`DROP DATABASE IF EXISTS ${concurrent}`));
  const drift = await diffSql(migrations, { kind: 'schema', path: schemaPath }, adminUrl());
  t.match(drift, /ALTER TABLE "leads" ADD COLUMN\s+"website" TEXT/);
  const clean = await diffSql(migrations, { kind: 'schema', path: join(migrationDirs.tenant, '..', 'schema.prisma') }, adminUrl());
  t.notMatch(clean, /ALTER|CREATE|DROP/, 'the committed schema and migrations agree (RLS included)');
  const left = (await adminQuery(`SELECT datname FROM pg_database WHERE datname IN ('${abandoned}', '${concurrent}')`)).rows.map((r) => r.datname);
  t.same(left, [concurrent], "the killed run's shadow database is dropped, the running one's is kept");
});

async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await client.query<{ datname: string }>(sql);
  } finally {
    await client.end();
  }
}

function fleetMigration(name: string, sql: string) {
  return { name, sql, checksum: checksumOf(sql) };
}

t.test('a no-transaction migration (CREATE INDEX CONCURRENTLY) applies, and resumes after failing halfway', async (t) => {
  const target = schemas[0]!;
  const sql = (second: string) =>
    `-- strata:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS "leads_tenant_id_email_idx";\nCREATE INDEX CONCURRENTLY "leads_tenant_id_email_idx" ON "leads" ("tenant_id", "email");\n${second}\n`;
  const failing = { ...applied, tenant: [...applied.tenant, fleetMigration('20990105000000_email_idx', sql('SELECT 1/0;'))] };
  const first = await applyFleet(await targets({ tenant: [target.slug] }), { migrations: failing });
  t.equal(first.counts.failed, 1);
  const indexExists = () =>
    withOwnerConnection(
      platform.defaultServer,
      target.databaseName,
      async (c) => (await c.query(`SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'leads_tenant_id_email_idx'`, [target.schemaName])).rowCount,
    );
  t.equal(await indexExists(), 1, 'statements before the failure took effect (no transaction to undo them)');
  const [state] = await inspectFleet(await targets({ tenant: [target.slug] }), { migrations: failing });
  t.same(state!.pending, ['20990105000000_email_idx'], 'but the migration is not recorded');

  const fixed = { ...applied, tenant: [...applied.tenant, fleetMigration('20990105000000_email_idx', sql('SELECT 1;'))] };
  const second = await applyFleet(await targets({ tenant: [target.slug] }), { migrations: fixed });
  t.same(second.counts, { current: 0, applied: 1, failed: 0, skipped: 0 });
  t.equal(await indexExists(), 1);
  const [after] = await inspectFleet(await targets({ tenant: [target.slug] }), { migrations: fixed });
  t.same(after!.pending, []);
});
