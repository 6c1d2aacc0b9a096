/**
 * Operators' migration command, run on every deploy:
 *   npm run migrate -- status [--json]            state of every target
 *   npm run migrate -- plan [--json] [--waves …]  what apply would do, refusals included, wave by wave
 *   npm run migrate -- apply [--waves 5,50,all [--pooled-wave N] | --canary N] [--concurrency N] [--halt-on-error] [--json]
 *   npm run migrate -- create <name> [--stream tenant|catalog]
 *   npm run migrate -- check                      fails when schema and migrations disagree
 * Filters for status/plan/apply: --tenant <slug> --tier <catalog|pooled|schema|dedicated|spare>
 * --server <name> (each repeatable). A server that cannot be reached fails its own targets; the
 * others are inspected or migrated all the same, and the command exits 1 naming the server.
 * --migrations-dir <dir> reads the tenant stream from another folder (e.g. a release's migrations,
 * tried against staging before they are committed).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { databaseNames } from '../src/platform/platform.js';
import { applyFleet, inspectFleet } from '../src/migrations/fleet-runner.js';
import { discoverTargets, type TargetKind, unlistedSparesId } from '../src/migrations/fleet-targets.js';
import { describeWave, parseWaves, splitWaves, WaveSpecError } from '../src/migrations/fleet-waves.js';
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
    waves: { type: 'string' },
    'pooled-wave': { type: 'string' },
    concurrency: { type: 'string' },
    'halt-on-error': { type: 'boolean', default: false },
    stream: { type: 'string', default: 'tenant' },
    'migrations-dir': { type: 'string' },
  },
});
const [command, ...rest] = positionals;

/** One line per server that could not be reached, with how many of the run's targets it holds. */
function unreachableSummary(rows: { server: string; unreachable?: boolean; error?: string }[]): string[] {
  const byServer = new Map<string, { targets: number; error: string }>();
  for (const row of rows.filter((r) => r.unreachable)) {
    const entry = byServer.get(row.server) ?? { targets: 0, error: row.error ?? '' };
    entry.targets++;
    byServer.set(row.server, entry);
  }
  return [...byServer].map(([server, { targets, error }]) => `UNREACHABLE server ${server}: ${targets} target(s) not migrated (${error})`);
}

/** A pooled target's tenants, as `plan` and `status` name them: a failure there is all of theirs. */
const carried = ({ count, slugs }: { count: number; slugs: string[] }) =>
  `${count} pooled tenant${count === 1 ? '' : 's'}${slugs.length ? ` (${slugs.join(', ')}${count > slugs.length ? ', …' : ''})` : ''}`;

const positive = (flag: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer`);
  return n;
};

/** `--waves 5,50,all`, or `--canary N` for `--waves N,all`; none: one wave. */
function waveSpec() {
  if (values.canary !== undefined && values.waves !== undefined) throw new UsageError('--canary N is --waves N,all: give one of them');
  const spec = values.waves ?? (values.canary !== undefined ? `${positive('canary', values.canary)},all` : undefined);
  const pooledWave = positive('pooled-wave', values['pooled-wave']);
  if (spec === undefined && pooledWave !== undefined) throw new UsageError('--pooled-wave needs --waves');
  try {
    return spec === undefined ? undefined : parseWaves(spec, pooledWave);
  } catch (err) {
    throw err instanceof WaveSpecError ? new UsageError(err.message) : err;
  }
}

if (command === 'create' || command === 'check') await withServer((adminUrl) => createOrCheck(command, adminUrl));

await withPlatform(
  async (platform) => {
    const streams = { catalog: await readMigrations(migrationDirs.catalog), tenant: await readMigrations(values['migrations-dir'] ?? migrationDirs.tenant) };
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
    const waves = waveSpec();

    switch (command) {
      case 'status':
      case 'plan': {
        const listed = await targets();
        const states = await inspectFleet(listed, { ...common, progress: tty ? progress : undefined });
        const refused = states.filter((s) => s.changed.length || s.unknown.length || s.error);
        const pending = states.filter((s) => s.pending.length);
        const failures = new Map((await platform.catalog.migrationFailure.findMany()).map((f) => [f.targetId, f]));
        const unreachable = unreachableSummary(states);
        if (values.json) {
          const rows = states.map((s) => ({ ...s, lastFailure: failures.get(s.target) ?? null }));
          console.log(JSON.stringify({ targets: rows.length, pending: pending.length, refused: refused.length, unreachable, rows }, null, 2));
        } else {
          const line = (s: (typeof states)[number]) => {
            const failure = failures.get(s.target);
            const notes = [
              s.pending.length && `${command === 'plan' ? 'will apply' : 'pending'}: ${s.pending.join(', ')}`,
              s.changed.length && `REFUSED, changed after apply: ${s.changed.join(', ')}`,
              s.unknown.length && `REFUSED, ahead of the code: ${s.unknown.join(', ')}`,
              s.error && (s.unreachable ? `UNREACHABLE: ${s.error}` : `failed to inspect: ${s.error}`),
              failure && `last failure (${failure.failedAt.toISOString()}): ${failure.error}`,
              s.carries && `carries ${carried(s.carries)}`,
            ].filter(Boolean);
            const current = !s.pending.length && !s.changed.length && !s.unknown.length && !s.error;
            console.log(
              `${s.target.padEnd(32)} ${String(s.lastApplied ?? '(none)').padEnd(40)} ${[current && 'current', ...notes].filter(Boolean).join('; ')}`,
            );
          };
          const shown = new Set(command === 'plan' ? [...pending, ...refused] : states);
          if (command === 'plan' && waves) {
            // The waves apply would run: the same split, from the same inspection.
            const byId = new Map(states.map((s) => [s.target, s]));
            const tenantTargets = listed.filter((t) => t.stream === 'tenant');
            const split = splitWaves(tenantTargets, waves, (t) => shown.has(byId.get(t.id)!) && !byId.get(t.id)!.unreachable);
            const catalog = states.filter((s) => s.kind === 'catalog' && shown.has(s));
            if (catalog.length) console.log('first, the catalog:');
            catalog.forEach(line);
            for (const [i, wave] of split.entries()) {
              console.log(`wave ${i + 1}/${split.length}: ${describeWave(wave)}${i < split.length - 1 ? ' (a failure stops the later waves)' : ''}`);
              for (const target of wave) if (shown.has(byId.get(target.id)!)) line(byId.get(target.id)!);
            }
          } else for (const s of states) if (shown.has(s)) line(s);
          console.log(
            `\n${states.length} targets: ${states.length - pending.length - refused.length} current, ${pending.length} with pending migrations, ${refused.length} refused or unreachable`,
          );
          for (const line of unreachable) console.error(line);
        }
        return refused.length ? 1 : 0;
      }
      case 'apply': {
        const report = await applyFleet(await targets(), {
          ...common,
          progress,
          waves,
          haltOnError: values['halt-on-error'],
        });
        const failed = report.targets.filter((t) => t.status === 'failed');
        const done = report.targets.filter((t) => t.status === 'applied' || t.status === 'current');
        // A server reached again also clears the failure recorded when its spares could not be listed.
        const reached = [...new Set(done.map((t) => unlistedSparesId(t.server)))];
        await platform.catalog.$transaction([
          platform.catalog.migrationFailure.deleteMany({ where: { targetId: { in: [...done.map((t) => t.target), ...reached] } } }),
          ...failed.map((t) =>
            platform.catalog.migrationFailure.upsert({
              where: { targetId: t.target },
              create: { targetId: t.target, migration: t.migration, error: t.error ?? 'unknown error' },
              update: { migration: t.migration, error: t.error ?? 'unknown error', failedAt: new Date() },
            }),
          ),
        ]);
        const unreachable = unreachableSummary(report.targets);
        if (values.json) console.log(JSON.stringify({ ...report, unreachable }, null, 2));
        else {
          for (const t of failed) console.error(`FAILED ${t.target}: ${t.error}`);
          for (const line of unreachable) console.error(line);
          if (report.waves.length > 1) {
            for (const w of report.waves)
              console.error(
                `wave ${w.wave}/${report.waves.length}: ${w.targets} targets, ${w.applied} migrated, ${w.current} already current, ${w.failed} failed, ${w.skipped} skipped`,
              );
          }
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
  },
  { migratePooled: false },
);

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
