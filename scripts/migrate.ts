/**
 * Operators' migration command, run on every deploy:
 *   npm run migrate -- status [--json]            state of every target
 *   npm run migrate -- plan [--json]              what apply would do, refusals included
 *   npm run migrate -- apply [--canary N] [--concurrency N] [--halt-on-error] [--json]
 *   npm run migrate -- create <name> [--stream tenant|catalog]
 *   npm run migrate -- check                      fails when schema and migrations disagree
 * Filters for status/plan/apply: --tenant <slug> --tier <catalog|pooled|schema|dedicated|spare>
 * --server <name> (each repeatable).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { databaseNames } from '../src/platform/platform.js';
import { applyFleet, inspectFleet } from '../src/migrations/fleet-runner.js';
import { discoverTargets, type TargetKind } from '../src/migrations/fleet-targets.js';
import type { ServerRecord } from '../src/servers/server-access.js';
import { listSpares } from '../src/tenants/spare-schemas.js';
import { readBaseline } from '../src/migrations/baseline.js';
import { baselinePaths, migrationDirs, readMigrations } from '../src/migrations/migration-files.js';
import { diffSql } from '../src/migrations/schema-engine.js';
import { createProgressReporter } from '../src/progress/progress-reporter.js';
import { UsageError, withPlatform, withServer } from './cli.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    tenant: { type: 'string', multiple: true },
    tier: { type: 'string', multiple: true },
    server: { type: 'string', multiple: true },
    canary: { type: 'string' },
    concurrency: { type: 'string' },
    'halt-on-error': { type: 'boolean', default: false },
    stream: { type: 'string', default: 'tenant' },
  },
});
const [command, ...rest] = positionals;

const positive = (flag: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer`);
  return n;
};

if (command === 'create' || command === 'check') await withServer((adminUrl) => createOrCheck(command, adminUrl));

await withPlatform(async (platform) => {
  const streams = { catalog: await readMigrations(migrationDirs.catalog), tenant: await readMigrations(migrationDirs.tenant) };
  const baselines = { catalog: await readBaseline(baselinePaths.catalog, streams.catalog), tenant: await readBaseline(baselinePaths.tenant, streams.tenant) };
  const catalogTarget = { server: platform.defaultServer, database: databaseNames(platform.config.database.prefix).catalog };
  const tiers = ['catalog', 'pooled', 'schema', 'dedicated', 'spare'];
  for (const tier of values.tier ?? []) if (!tiers.includes(tier)) throw new UsageError(`--tier must be one of ${tiers.join(', ')}`);
  const spares = (server: ServerRecord) => platform.provisioning.owners.with(server, server.tenantsDatabase, listSpares);
  const targets = () =>
    discoverTargets(platform.catalog, catalogTarget, { tenant: values.tenant, tier: values.tier as TargetKind[], server: values.server }, spares);
  const tty = !values.json && Boolean(process.stderr.isTTY);
  const progress = createProgressReporter({ tty, out: process.stdout, err: process.stderr });
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    console.error('\ninterrupted: finishing the targets in flight, starting no new ones');
    interrupt.abort();
  });
  const common = { migrations: streams, baselines, concurrency: positive('concurrency', values.concurrency), signal: interrupt.signal };

  switch (command) {
    case 'status':
    case 'plan': {
      const states = await inspectFleet(await targets(), { ...common, progress: tty ? progress : undefined });
      const refused = states.filter((s) => s.changed.length || s.unknown.length || s.error);
      const pending = states.filter((s) => s.pending.length);
      const failures = new Map((await platform.catalog.migrationFailure.findMany()).map((f) => [f.targetId, f]));
      if (values.json) {
        const rows = states.map((s) => ({ ...s, lastFailure: failures.get(s.target) ?? null }));
        console.log(JSON.stringify({ targets: rows.length, pending: pending.length, refused: refused.length, rows }, null, 2));
      } else {
        for (const s of command === 'plan' ? [...pending, ...refused] : states) {
          const failure = failures.get(s.target);
          const notes = [
            s.pending.length && `${command === 'plan' ? 'will apply' : 'pending'}: ${s.pending.join(', ')}`,
            s.changed.length && `REFUSED, changed after apply: ${s.changed.join(', ')}`,
            s.unknown.length && `REFUSED, ahead of the code: ${s.unknown.join(', ')}`,
            s.error && `unreachable: ${s.error}`,
            failure && `last failure (${failure.failedAt.toISOString()}): ${failure.error}`,
          ].filter(Boolean);
          console.log(`${s.target.padEnd(32)} ${String(s.lastApplied ?? '(none)').padEnd(40)} ${notes.join('; ') || 'current'}`);
        }
        console.log(`\n${states.length} targets: ${states.length - pending.length - refused.length} current, ${pending.length} with pending migrations, ${refused.length} refused or unreachable`);
      }
      return refused.length ? 1 : 0;
    }
    case 'apply': {
      const report = await applyFleet(await targets(), {
        ...common,
        progress,
        canary: positive('canary', values.canary),
        haltOnError: values['halt-on-error'],
      });
      const failed = report.targets.filter((t) => t.status === 'failed');
      await platform.catalog.$transaction([
        platform.catalog.migrationFailure.deleteMany({
          where: { targetId: { in: report.targets.filter((t) => t.status === 'applied' || t.status === 'current').map((t) => t.target) } },
        }),
        ...failed.map((t) =>
          platform.catalog.migrationFailure.upsert({
            where: { targetId: t.target },
            create: { targetId: t.target, migration: t.migration, error: t.error ?? 'unknown error' },
            update: { migration: t.migration, error: t.error ?? 'unknown error', failedAt: new Date() },
          }),
        ),
      ]);
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else {
        for (const t of failed) console.error(`FAILED ${t.target}: ${t.error}`);
        const { current, applied, skipped } = report.counts;
        console.error(
          `${report.targets.length} targets in ${report.durationMs} ms: ${applied} migrated, ${current} already current, ` +
            `${failed.length} failed, ${skipped} skipped${report.halted ? ' (halted)' : ''}${report.interrupted ? ' (interrupted)' : ''}`,
        );
      }
      return report.ok ? 0 : report.interrupted ? 130 : 1;
    }
    default:
      throw new UsageError('usage: migrate <status|plan|apply|create|check> [options] (see scripts/migrate.ts)');
  }
}, { migratePooled: false });

/** create and check need a server for the schema engine's shadow database, nothing else. */
async function createOrCheck(command: 'create' | 'check', adminUrl: string): Promise<number> {
  const stream = values.stream === 'catalog' ? 'catalog' : values.stream === 'tenant' ? 'tenant' : undefined;
  if (!stream) throw new UsageError('--stream must be tenant or catalog');
  const dir = migrationDirs[stream];
  const sql = await diffSql(
    { kind: 'migrations', baseDir: dir, folders: await readMigrations(dir) },
    { kind: 'schema', path: join(dir, '..', 'schema.prisma') },
    adminUrl,
  );
  const empty = !sql.split('\n').some((line) => line.trim() && !line.startsWith('--'));
  if (command === 'check') {
    if (empty) console.log(`${stream}: schema and migrations agree`);
    else console.error(`${stream}: the Prisma schema differs from the migrations; \`migrate create\` would write:\n${sql}`);
    return empty ? 0 : 1;
  }
  const name = rest[0];
  if (!name || !/^[a-z0-9_]{1,60}$/.test(name)) throw new UsageError('usage: migrate create <name> (lowercase letters, digits and _)');
  if (empty) {
    console.log(`${stream}: nothing to migrate, the schema matches the migrations`);
    return 0;
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const folder = join(dir, `${stamp}_${name}`);
  await mkdir(folder);
  await writeFile(join(folder, 'migration.sql'), sql);
  console.log(`wrote ${folder}/migration.sql — review it (add RLS for new tenant tables) before applying`);
  return 0;
}
