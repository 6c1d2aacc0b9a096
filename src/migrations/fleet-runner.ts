/**
 * Runs migrations across the fleet (docs/migrations.md#how-apply-runs). A failing or unreachable
 * target is reported without stopping the others unless asked to halt.
 */
import pRetry from 'p-retry';
import pg from 'pg';
import type { ProgressReporter } from '../progress/progress-reporter.js';
import { connectionConfig, type ServerRecord } from '../servers/server-access.js';
import { applyBatch } from './apply-batch.js';
import type { Baseline } from './baseline.js';
import { applyMigrations, MigrationError, pendingFor, readHistory, type History } from './apply-migrations.js';
import { readHistories } from './fleet-history.js';
import type { MigrationTarget, PooledTenants } from './fleet-targets.js';
import { describeWave, splitWaves, type WaveSpec } from './fleet-waves.js';
import { isTransactional, type MigrationFolder } from './migration-files.js';

export interface FleetOptions {
  migrations: Record<MigrationTarget['stream'], MigrationFolder[]>;
  baselines?: Partial<Record<MigrationTarget['stream'], Baseline>>;
  /** Owner connections per server, capped by its own limit. */
  concurrency?: number;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** After a lock timeout or deadlock, with exponential backoff. */
  lockRetries?: number;
  /** Schema targets per transaction (apply-batch.ts); 1 turns batching off. */
  batchSize?: number;
  /** Stops scheduling (SIGINT); targets in flight finish or roll back. */
  signal?: AbortSignal;
  progress?: ProgressReporter;
}

export interface ApplyFleetOptions extends FleetOptions {
  waves?: WaveSpec;
  haltOnError?: boolean;
}

export interface TargetReport {
  target: string;
  kind: MigrationTarget['kind'];
  server: string;
  /** Its server was down; nothing was tried. */
  unreachable?: boolean;
  status: 'current' | 'applied' | 'failed' | 'skipped';
  /** From 1; absent for the catalog, which runs first. */
  wave?: number;
  applied: string[];
  migration?: string;
  error?: string;
  ms: number;
}

export interface FleetReport {
  ok: boolean;
  interrupted: boolean;
  halted: boolean;
  durationMs: number;
  counts: Record<TargetReport['status'], number>;
  /** A wave after a failed one is all skipped. */
  waves: ({ wave: number; targets: number } & Record<TargetReport['status'], number>)[];
  targets: TargetReport[];
}

export interface TargetState {
  target: string;
  kind: MigrationTarget['kind'];
  server: string;
  unreachable?: boolean;
  carries?: PooledTenants;
  applied: number;
  lastApplied: string | null;
  pending: string[];
  /** Applied migrations whose file changed since. */
  changed: string[];
  /** Applied migrations this code lacks (the target is ahead). */
  unknown: string[];
  error?: string;
}

const retryable = new Set(['55P03', '40P01']);
/** A missing (dedicated) database fails one target; other connect failures, its server. */
const missingDatabase = '3D000';

export class ServerUnreachableError extends Error {
  constructor(server: ServerRecord, reason: string, cause?: unknown) {
    super(`server ${server.name} (${server.host}:${server.port}) is unreachable: ${reason}`, { cause });
    this.name = 'ServerUnreachableError';
  }
}
const errorCode = (err: unknown) => (err as { code?: string })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;

/** One database's targets, whose histories are read at once. */
interface Unit {
  server: ServerRecord;
  database: string;
  targets: MigrationTarget[];
}

/** Lets a few workers share a database of thousands of schemas evenly. */
const unitSize = 50;

function unitsOf(targets: MigrationTarget[]): Unit[] {
  const open = new Map<string, Unit>();
  const units: Unit[] = [];
  for (const target of targets) {
    const key = `${target.server.id}/${target.database}`;
    let unit = open.get(key);
    if (!unit || unit.targets.length >= unitSize) {
      unit = { server: target.server, database: target.database, targets: [] };
      open.set(key, unit);
      units.push(unit);
    }
    unit.targets.push(target);
  }
  return units;
}

/** `concurrency` workers per server, each keeping an owner connection per database (at most two). */
async function forEachUnit(
  units: Unit[],
  options: FleetOptions,
  stop: AbortSignal,
  work: (unit: Unit, connection: () => Promise<pg.Client>) => Promise<void>,
): Promise<void> {
  const byServer = new Map<string, Unit[]>();
  for (const unit of units) byServer.set(unit.server.id, [...(byServer.get(unit.server.id) ?? []), unit]);
  await Promise.all(
    [...byServer.values()].map(async (queue) => {
      const server = queue[0]!.server;
      // The server's first connect failure fails the rest of its targets at once.
      let down: ServerUnreachableError | undefined;
      let next = 0;
      const workers = Math.max(1, Math.min(options.concurrency ?? 4, server.maxConnections, queue.length));
      await Promise.all(
        Array.from({ length: workers }, async () => {
          const open = new Map<string, pg.Client>();
          const connection = async (database: string) => {
            const existing = open.get(database);
            if (existing) return existing;
            if (open.size >= 2) {
              const [oldest, stale] = open.entries().next().value!;
              open.delete(oldest);
              await stale.end().catch(() => undefined);
            }
            if (down) throw down;
            const client = new pg.Client({
              ...connectionConfig(server, 'owner', database),
              application_name: 'strata-migrate',
              connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
            });
            // Forgotten when dropped; the next target opens a fresh one.
            client.on('error', () => open.delete(database));
            try {
              await client.connect();
            } catch (err) {
              if (errorCode(err) === missingDatabase) throw err;
              down ??= new ServerUnreachableError(server, (err as Error).message || String(errorCode(err)), err);
              throw down;
            }
            open.set(database, client);
            return client;
          };
          try {
            while (next < queue.length && !stop.aborted) {
              const unit = queue[next++]!;
              await work(unit, () => connection(unit.database));
            }
          } finally {
            await Promise.all([...open.values()].map((c) => c.end().catch(() => undefined)));
          }
        }),
      );
    }),
  );
}

async function knownHistories(unit: Unit, client: pg.Client): Promise<Map<string, History>> {
  if (unit.targets.length < 2) return new Map();
  return readHistories(
    client,
    unit.targets.map((t) => t.schema),
  );
}

export async function inspectFleet(targets: MigrationTarget[], options: FleetOptions): Promise<TargetState[]> {
  const states = new Map<MigrationTarget, TargetState>();
  const blank = (target: MigrationTarget): TargetState => ({
    target: target.id,
    kind: target.kind,
    server: target.server.name,
    applied: 0,
    lastApplied: null,
    pending: [],
    changed: [],
    unknown: [],
    ...(target.carries && { carries: target.carries }),
  });
  options.progress?.start(targets.length, 'inspecting');
  for (const target of targets.filter((t) => t.unreachable)) {
    states.set(target, { ...blank(target), unreachable: true, error: new ServerUnreachableError(target.server, target.unreachable!).message });
  }
  const reachable = targets.filter((t) => !t.unreachable);
  await forEachUnit(unitsOf(reachable), options, options.signal ?? new AbortController().signal, async (unit, connection) => {
    const histories = await connection()
      .then((client) => knownHistories(unit, client))
      .catch(() => new Map<string, History>());
    for (const target of unit.targets) {
      const state = blank(target);
      try {
        const history = histories.get(target.schema) ?? (await readHistory(await connection(), target.schema));
        const files = new Map(options.migrations[target.stream].map((m) => [m.name, m]));
        state.applied = history.length;
        state.lastApplied = history.at(-1)?.name ?? null;
        state.changed = history.filter((h) => files.has(h.name) && files.get(h.name)!.checksum !== h.checksum).map((h) => h.name);
        state.unknown = history.filter((h) => !files.has(h.name)).map((h) => h.name);
        const done = new Set(history.map((h) => h.name));
        state.pending = [...files.keys()].filter((name) => !done.has(name)).sort();
      } catch (err) {
        state.error = (err as Error).message;
        if (err instanceof ServerUnreachableError) state.unreachable = true;
      }
      states.set(target, state);
      options.progress?.report({ event: 'target.inspected', ...state });
    }
  });
  return targets.flatMap((t) => states.get(t) ?? []);
}

/** Only work to do (or fail at) tests the migrations. */
const hasWork = (s: TargetState) => !s.unreachable && Boolean(s.pending.length || s.changed.length || s.unknown.length || s.error);

export async function applyFleet(targets: MigrationTarget[], options: ApplyFleetOptions): Promise<FleetReport> {
  const began = performance.now();
  const reports = new Map<MigrationTarget, TargetReport>();
  const halt = new AbortController();
  const stop = options.signal ? AbortSignal.any([options.signal, halt.signal]) : halt.signal;
  const tenantTargets = targets.filter((t) => t.stream === 'tenant');
  let tenantWaves = [tenantTargets];
  if (options.waves?.sizes.length) {
    const states = await inspectFleet(tenantTargets, { ...options, progress: undefined });
    const working = new Set(states.filter(hasWork).map((s) => s.target));
    tenantWaves = splitWaves(tenantTargets, options.waves, (t) => working.has(t.id));
  }
  const waveOf = new Map(tenantWaves.flatMap((wave, i) => wave.map((t) => [t, i + 1] as const)));

  const record = (target: MigrationTarget, report: TargetReport) => {
    reports.set(target, { ...report, ...(waveOf.has(target) && { wave: waveOf.get(target) }) });
    options.progress?.report({ event: `target.${report.status}`, ...reports.get(target) });
    if (report.status === 'failed' && options.haltOnError) halt.abort();
  };
  const outcome = (wave: MigrationTarget[]) => {
    const counts = { current: 0, applied: 0, failed: 0, skipped: 0 };
    for (const t of wave) counts[reports.get(t)?.status ?? 'skipped']++;
    return counts;
  };
  options.progress?.start(targets.length, 'migrating');
  // The catalog runs first and gates the waves, as each wave gates the next.
  for (const [index, wave] of [targets.filter((t) => t.stream === 'catalog'), ...tenantWaves].entries()) {
    if (stop.aborted || wave.length === 0) continue;
    const numbered = index > 0 && tenantWaves.length > 1;
    if (numbered)
      options.progress?.report(
        {
          event: 'wave.started',
          wave: index,
          waves: tenantWaves.length,
          targets: wave.length,
          message: `wave ${index}/${tenantWaves.length}: ${describeWave(wave)}`,
        },
        false,
      );
    for (const target of wave.filter((t) => t.unreachable)) {
      record(target, failure(target, new ServerUnreachableError(target.server, target.unreachable!), performance.now()));
    }
    const reachable = wave.filter((t) => !t.unreachable);
    await forEachUnit(unitsOf(reachable), options, stop, (unit, connection) => applyUnit(unit, connection, options, stop, record));
    // A down server says nothing of the migrations: its targets gate nothing.
    const failedInWave = wave.some((t) => reports.get(t)?.status === 'failed' && !reports.get(t)?.unreachable);
    if (numbered) {
      const counts = outcome(wave);
      const tail = failedInWave && index < tenantWaves.length ? '; stopping, the later waves are skipped' : '';
      options.progress?.report(
        {
          event: 'wave.finished',
          wave: index,
          ...counts,
          message: `wave ${index}/${tenantWaves.length}: ${counts.applied} migrated, ${counts.current} current, ${counts.failed} failed${tail}`,
        },
        false,
      );
    }
    if (failedInWave && index < tenantWaves.length) halt.abort();
  }

  const all = targets.map((t) => reports.get(t) ?? { ...report(t, 'skipped', [], performance.now()), ...(waveOf.has(t) && { wave: waveOf.get(t) }) });
  const counts = { current: 0, applied: 0, failed: 0, skipped: 0 };
  for (const r of all) counts[r.status]++;
  const fleet: FleetReport = {
    ok: counts.failed === 0 && counts.skipped === 0,
    interrupted: options.signal?.aborted ?? false,
    halted: halt.signal.aborted,
    durationMs: Math.round(performance.now() - began),
    counts,
    waves: tenantWaves.map((wave, i) => ({ wave: i + 1, targets: wave.length, ...outcome(wave) })),
    targets: all,
  };
  options.progress?.finish({ event: 'run.finished', ok: fleet.ok, durationMs: fleet.durationMs, ...counts });
  return fleet;
}

const batchable = (target: MigrationTarget, history: History, pending: MigrationFolder[]) =>
  (target.kind === 'schema' || target.kind === 'spare') && history.length > 0 && pending.every(isTransactional);

/** Batched where possible; otherwise, or when the batch fails, one by one. */
async function applyUnit(
  unit: Unit,
  connection: () => Promise<pg.Client>,
  options: FleetOptions,
  stop: AbortSignal,
  record: (target: MigrationTarget, report: TargetReport) => void,
): Promise<void> {
  const began = performance.now();
  const histories = await connection()
    .then((client) => knownHistories(unit, client))
    .catch(() => new Map<string, History>());
  const singles: MigrationTarget[] = [];
  const batch: { target: MigrationTarget; pending: MigrationFolder[] }[] = [];
  for (const target of unit.targets) {
    const history = histories.get(target.schema);
    if (!history) {
      singles.push(target);
      continue;
    }
    try {
      const pending = pendingFor(history, options.migrations[target.stream]);
      if (pending.length === 0) record(target, report(target, 'current', [], began));
      else if (batchable(target, history, pending)) batch.push({ target, pending });
      else singles.push(target);
    } catch (err) {
      record(target, failure(target, err, began));
    }
  }
  const size = options.batchSize ?? 25;
  for (let i = 0; i < batch.length && !stop.aborted; i += size) {
    const part = batch.slice(i, i + size);
    const started = performance.now();
    try {
      const applied = await applyBatch(
        await connection(),
        part.map(({ target, pending }) => ({ schema: target.schema, pending })),
        options,
      );
      for (const { target } of part)
        record(
          target,
          report(
            target,
            'applied',
            applied.get(target.schema)!.map((a) => a.name),
            started,
          ),
        );
    } catch {
      singles.push(...part.map((p) => p.target));
    }
  }
  for (const target of singles) {
    if (stop.aborted) return;
    record(target, await applyTarget(target, connection, options));
  }
}

const report = (target: MigrationTarget, status: TargetReport['status'], applied: string[], since: number): TargetReport => ({
  target: target.id,
  kind: target.kind,
  server: target.server.name,
  status,
  applied,
  ms: Math.round(performance.now() - since),
});

function failure(target: MigrationTarget, err: unknown, since: number): TargetReport {
  return {
    ...report(target, 'failed', [], since),
    migration: err instanceof MigrationError ? err.migration : undefined,
    error: (err as Error).message,
    ...(err instanceof ServerUnreachableError ? { unreachable: true } : {}),
  };
}

async function applyTarget(target: MigrationTarget, connection: () => Promise<pg.Client>, options: FleetOptions): Promise<TargetReport> {
  const began = performance.now();
  const migrations = options.migrations[target.stream];
  const runtimeRole = target.stream === 'tenant' ? target.server.runtimeRole : undefined;
  try {
    const client = await connection();
    // Most targets are current: one read, no transaction, no lock.
    if (pendingFor(await readHistory(client, target.schema), migrations).length === 0) return report(target, 'current', [], began);
    const apply = () =>
      applyMigrations(client, {
        schema: target.schema,
        migrations,
        baseline: options.baselines?.[target.stream],
        runtimeRole,
        lockTimeoutMs: options.lockTimeoutMs,
        statementTimeoutMs: options.statementTimeoutMs,
      });
    const retries = { retries: options.lockRetries ?? 3, minTimeout: 200, factor: 2, randomize: false };
    const applied = await pRetry(apply, { ...retries, shouldRetry: ({ error }) => retryable.has(errorCode(error) ?? '') });
    return report(
      target,
      applied.length ? 'applied' : 'current',
      applied.map((a) => a.name),
      began,
    );
  } catch (err) {
    // A spare claimed meanwhile is a tenant's schema now, migrated under its name.
    if (target.kind === 'spare' && errorCode(err) === '3F000') return report(target, 'current', [], began);
    return failure(target, err, began);
  }
}
