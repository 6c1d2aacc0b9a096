/**
 * Fleet migration benchmark (issue: migration runner). Builds a fleet of schema tenants (default
 * 1,000, in bulk) + 10 dedicated databases + the pooled tables, then times, in the same run:
 *   - a no-op apply (everything current) and an ADD COLUMN + index migration with the fleet runner;
 *   - the same with a naive loop: sequential, a new connection per target (what a per-tenant CLI
 *     loop does, minus its process start);
 *   - provisioning latency of a schema tenant into that fleet: one at a time as signups arrive
 *     (the spare pool refilled in between), and back to back (a burst that empties the pool).
 * `npm run bench -- migrate-fleet [--schemas N] [--dedicated N]`
 */
import { parseArgs } from 'node:util';
import pg, { escapeIdentifier } from 'pg';
import { applyFleet } from '../../src/migrations/fleet-runner.js';
import { discoverTargets, type MigrationTarget } from '../../src/migrations/fleet-targets.js';
import { historyTable, pendingFor, readHistory } from '../../src/migrations/apply-migrations.js';
import { checksumOf, migrationDirs, readMigrations, type MigrationFolder } from '../../src/migrations/migration-files.js';
import { databaseNames } from '../../src/platform/platform.js';
import { connectionConfig } from '../../src/servers/server-access.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { listSpares } from '../../src/tenants/spare-schemas.js';
import { percentile, round, timed, withBenchPlatform, writeResults } from './bench-kit.js';
import { buildSchemaFleet } from './schema-fleet.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'migrate-fleet'),
  options: { schemas: { type: 'string', default: '1000' }, dedicated: { type: 'string', default: '10' } },
});
const schemaCount = Number(values.schemas);
const dedicatedCount = Number(values.dedicated);
const provisionCount = 50;

const columnMigration = (name: string, column: string): MigrationFolder => {
  const sql = `ALTER TABLE "leads" ADD COLUMN "${column}" INTEGER;\nCREATE INDEX "leads_tenant_id_${column}_idx" ON "leads" ("tenant_id", "${column}");\n`;
  return { name, sql, checksum: checksumOf(sql) };
};

/**
 * What a per-tenant loop does (a CLI run per tenant, minus its process start): connect, read the
 * history, apply each pending migration with its history row in a transaction at the server's
 * default settings, disconnect; one target after another.
 */
async function naiveLoop(targets: MigrationTarget[], migrations: MigrationFolder[]) {
  for (const target of targets) {
    const client = new pg.Client(connectionConfig(target.server, 'owner', target.database));
    await client.connect();
    try {
      const history = escapeIdentifier(target.schema) + '.' + escapeIdentifier(historyTable);
      for (const migration of pendingFor(await readHistory(client, target.schema), migrations)) {
        await client.query('BEGIN');
        await client.query(`SET LOCAL search_path TO ${escapeIdentifier(target.schema)}`);
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${history} (name, checksum, duration_ms) VALUES ($1, $2, 0)`, [migration.name, migration.checksum]);
        await client.query('COMMIT');
      }
    } finally {
      await client.end();
    }
  }
}

await withBenchPlatform('migrate', { STRATA_POOL_MAX: '4' }, async (platform) => {
  console.error(`building the fleet: ${schemaCount} schema tenants (in bulk), ${dedicatedCount} dedicated`);
  await buildSchemaFleet(platform, 'bench-s', schemaCount);
  const dedicatedMs: number[] = [];
  for (let i = 0; i < dedicatedCount; i++) {
    const { ms } = await timed(() => provisionTenant(platform.provisioning, { slug: `bench-d${i}`, name: `d${i}`, plan: 'free', tier: 'dedicated' }));
    dedicatedMs.push(ms);
  }

  const catalogTarget = { server: platform.defaultServer, database: databaseNames(platform.config.database.prefix).catalog };
  const targets = (await discoverTargets(platform.catalog, catalogTarget)).filter((t) => t.stream === 'tenant');
  const base = await readMigrations(migrationDirs.tenant);
  const catalog = await readMigrations(migrationDirs.catalog);
  const first = [...base, columnMigration('20990101000000_bench_a', 'bench_a')];
  const second = [...first, columnMigration('20990101000001_bench_b', 'bench_b')];
  const fleet = (tenant: MigrationFolder[]) => applyFleet(targets, { migrations: { catalog, tenant }, concurrency: 4 });

  const strataNoop = await timed(() => fleet(base));
  const naiveNoop = await timed(() => naiveLoop(targets, base));
  const strataDdl = await timed(() => fleet(first));
  const naiveDdl = await timed(() => naiveLoop(targets, second));
  for (const run of [strataNoop, strataDdl]) if (!run.value.ok) throw new Error(`fleet run failed: ${JSON.stringify(run.value.counts)}`);

  // New tenants join a fleet of that size. They get the code's migrations: the two above are the bench's own.
  const server = platform.defaultServer;
  const poolEmpty = async () => (await platform.provisioning.owners.with(server, server.tenantsDatabase, listSpares)).length === 0;
  const provision = async (slug: string) => (await timed(() => provisionTenant(platform.provisioning, { slug, name: slug, plan: 'free', tier: 'schema' }))).ms;
  const steadyMs: number[] = [];
  for (let i = 0; i < provisionCount; i++) {
    await platform.provisioning.spares.settle();
    steadyMs.push(await provision(`bench-n${i}`));
  }
  const burstMs: number[] = [];
  let burstWithoutSpare = 0;
  for (let i = 0; i < provisionCount; i++) {
    if (await poolEmpty()) burstWithoutSpare++;
    burstMs.push(await provision(`bench-b${i}`));
  }
  await platform.provisioning.spares.settle();

  // Targets (migration-runner issue) are for 1,000 schema tenants; a smaller fleet is only indicative.
  const outcome = (ms: number, limitMs: number, speedup: number) => (ms <= limitMs && speedup >= 10 ? 'yes' : 'no');
  const rows = [
    {
      run: 'no-op apply (all current)',
      targets: targets.length,
      'strata ms': round(strataNoop.ms, 0),
      'naive loop ms': round(naiveNoop.ms, 0),
      speedup: `${round(naiveNoop.ms / strataNoop.ms)}×`,
      target: '≤ 2 s, ≥ 10×',
      met: outcome(strataNoop.ms, 2_000, naiveNoop.ms / strataNoop.ms),
    },
    {
      run: 'ADD COLUMN + CREATE INDEX',
      targets: targets.length,
      'strata ms': round(strataDdl.ms, 0),
      'naive loop ms': round(naiveDdl.ms, 0),
      speedup: `${round(naiveDdl.ms / strataDdl.ms)}×`,
      target: '≤ 10 s, ≥ 10×',
      met: outcome(strataDdl.ms, 10_000, naiveDdl.ms / strataDdl.ms),
    },
    {
      run: 'provision a schema tenant into the fleet, p50 / p99',
      targets: provisionCount,
      'strata ms': `${round(percentile(steadyMs, 50))} / ${round(percentile(steadyMs, 99))}`,
      'naive loop ms': '—',
      speedup: '—',
      target: 'p50 ≤ 50 ms',
      met: percentile(steadyMs, 50) <= 50 ? 'yes' : 'no',
    },
  ];
  await writeResults('migrate-fleet', {
    title: `Migration runner: ${schemaCount} schema tenants + ${dedicatedCount} dedicated + pooled`,
    rows,
    notes: [
      `provisioning a schema tenant into the fleet, one at a time with the spare pool refilled in between: p50 ${round(percentile(steadyMs, 50))} ms, p99 ${round(percentile(steadyMs, 99))} ms`,
      `the same back to back (a burst of ${provisionCount}; ${burstWithoutSpare} found no spare and built their schema): p50 ${round(percentile(burstMs, 50))} ms, p99 ${round(percentile(burstMs, 99))} ms; raise STRATA_SPARE_SCHEMAS for expected bursts`,
      `provisioning a dedicated tenant: p50 ${round(percentile(dedicatedMs, 50))} ms, p99 ${round(percentile(dedicatedMs, 99))} ms`,
      'strata: 4 owner connections per server reused across targets; naive: sequential, a new connection per target, one transaction per migration at default settings',
      'targets: no-op ≤ 2 s, DDL ≤ 10 s, ≥ 10× the naive loop, schema provisioning ≤ 50 ms',
    ],
    data: {
      schemaCount,
      dedicatedCount,
      targets: targets.length,
      strataNoopMs: strataNoop.ms,
      naiveNoopMs: naiveNoop.ms,
      strataDdlMs: strataDdl.ms,
      naiveDdlMs: naiveDdl.ms,
      provisionSchemaMs: { p50: percentile(steadyMs, 50), p99: percentile(steadyMs, 99) },
      provisionBurstMs: { p50: percentile(burstMs, 50), p99: percentile(burstMs, 99), withoutSpare: burstWithoutSpare },
      provisionDedicatedMs: { p50: percentile(dedicatedMs, 50), p99: percentile(dedicatedMs, 99) },
    },
  });
});
