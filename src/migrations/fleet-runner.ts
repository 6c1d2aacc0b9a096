/**
 * Runs migrations across the fleet: no process per target, a few owner connections per server
 * reused across all the targets (schemas) of a database, the histories of a database's targets read
 * together with no lock, schemas that need the same kind of work applied several per transaction,
 * lock timeouts retried with backoff, and one failing target reported without stopping the others
 * (unless asked to halt).
 */
import pg from 'pg';
import type { ProgressReporter } from '../progress/progress-reporter.js';
import { connectionConfig, type ServerRecord } from '../servers/server-access.js';
import { applyBatch } from './apply-batch.js';
import type { Baseline } from './baseline.js';
import { applyMigrations, MigrationError, pendingFor, readHistory, type History } from './apply-migrations.js';
import { readHistories } from './fleet-history.js';
import type { MigrationTarget } from './fleet-targets.js';
import { isTransactional, type MigrationFolder } from './migration-files.js';

export interface FleetOptions {
  migrations: Record<MigrationTarget['stream'], MigrationFolder[]>;
  /** Squashed baselines, for targets with no history yet (see baseline.ts). */
  baselines?: Partial<Record<MigrationTarget['stream'], Baseline>>;
  /** Owner connections per server (never more than the server's own limit). */
  concurrency?: number;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  /** Attempts after a lock timeout or deadlock, with exponential backoff. */
  lockRetries?: number;
  /** Schema targets applied together in one transaction (see apply-batch.ts); 1 turns batching off. */
  batchSize?: number;
  /** Stops scheduling targets when aborted (SIGINT); targets in flight finish or roll back. */
  signal?: AbortSignal;
  progress?: ProgressReporter;
}

export interface ApplyFleetOptions extends FleetOptions {
  /** Apply to this many tenant targets first; stop there if any of them fails. */
  canary?: number;
  haltOnError?: boolean;
}

export interface TargetReport {
  target: string;
  kind: MigrationTarget['kind'];
  status: 'current' | 'applied' | 'failed' | 'skipped';
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
  targets: TargetReport[];
}

export interface TargetState {
  target: string;
  kind: MigrationTarget['kind'];
  applied: number;
  lastApplied: string | null;
  pending: string[];
  /** Applied migrations whose file changed since. */
  changed: string[];
  /** Applied migrations this code does not have (the target is ahead). */
  unknown: string[];
  error?: string;
}

const retryable = new Set(['55P03', '40P01']);
const errorCode = (err: unknown) => (err as { code?: string })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;

/** Targets of one database that one worker takes together, so their histories are read at once. */
interface Unit {
  server: ServerRecord;
  database: string;
  targets: MigrationTarget[];
}

/** Small enough that a few workers share a database of thousands of schemas evenly. */
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

/**
 * Runs `work` for every unit, grouped by server with `concurrency` workers each. A worker keeps
 * its owner connection per database open across units (at most two databases at a time);
 * `work` receives a function that returns it, so connection failures surface inside `work`.
 */
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
            const client = new pg.Client({ ...connectionConfig(server, 'owner', database), application_name: 'strata-migrate' });
            // A connection the server dropped is forgotten; the next target opens a fresh one.
            client.on('error', () => open.delete(database));
            await client.connect();
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

/** Histories of a unit's targets read together; targets missing from the map are read one by one. */
async function knownHistories(unit: Unit, client: pg.Client): Promise<Map<string, History>> {
  if (unit.targets.length < 2) return new Map();
  return readHistories(
    client,
    unit.targets.map((t) => t.schema),
  );
}

export async function inspectFleet(targets: MigrationTarget[], options: FleetOptions): Promise<TargetState[]> {
  const states = new Map<MigrationTarget, TargetState>();
  options.progress?.start(targets.length, 'inspecting');
  await forEachUnit(unitsOf(targets), options, options.signal ?? new AbortController().signal, async (unit, connection) => {
    const histories = await connection()
      .then((client) => knownHistories(unit, client))
      .catch(() => new Map<string, History>());
    for (const target of unit.targets) {
      const state: TargetState = { target: target.id, kind: target.kind, applied: 0, lastApplied: null, pending: [], changed: [], unknown: [] };
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
      }
      states.set(target, state);
      options.progress?.report({ event: 'target.inspected', ...state });
    }
  });
  return targets.flatMap((t) => states.get(t) ?? []);
}

export async function applyFleet(targets: MigrationTarget[], options: ApplyFleetOptions): Promise<FleetReport> {
  const began = performance.now();
  const reports = new Map<MigrationTarget, TargetReport>();
  const halt = new AbortController();
  const stop = options.signal ? AbortSignal.any([options.signal, halt.signal]) : halt.signal;
  const catalogTargets = targets.filter((t) => t.stream === 'catalog');
  const tenantTargets = targets.filter((t) => t.stream === 'tenant');
  const waves = [catalogTargets];
  if (options.canary) waves.push(tenantTargets.slice(0, options.canary), tenantTargets.slice(options.canary));
  else waves.push(tenantTargets);

  const record = (target: MigrationTarget, report: TargetReport) => {
    reports.set(target, report);
    options.progress?.report({ event: `target.${report.status}`, ...report });
    if (report.status === 'failed' && options.haltOnError) halt.abort();
  };
  options.progress?.start(targets.length, 'migrating');
  for (const [index, wave] of waves.entries()) {
    if (stop.aborted) break;
    await forEachUnit(unitsOf(wave), options, stop, (unit, connection) => applyUnit(unit, connection, options, stop, record));
    const failedInWave = wave.some((t) => reports.get(t)?.status === 'failed');
    const isCanaryWave = options.canary !== undefined && index === 1;
    // The catalog stream and the canaries gate everything after them.
    if (failedInWave && (index === 0 || isCanaryWave)) halt.abort();
  }

  const all = targets.map(
    (t) => reports.get(t) ?? { target: t.id, kind: t.kind, status: 'skipped' as const, applied: [], ms: 0 },
  );
  const counts = { current: 0, applied: 0, failed: 0, skipped: 0 };
  for (const r of all) counts[r.status]++;
  const report: FleetReport = {
    ok: counts.failed === 0 && counts.skipped === 0,
    interrupted: options.signal?.aborted ?? false,
    halted: halt.signal.aborted,
    durationMs: Math.round(performance.now() - began),
    counts,
    targets: all,
  };
  options.progress?.finish({ event: 'run.finished', ok: report.ok, durationMs: report.durationMs, ...counts });
  return report;
}

/** Schema targets with history whose pending migrations all run in a transaction can share one. */
const batchable = (target: MigrationTarget, history: History, pending: MigrationFolder[]) =>
  (target.kind === 'schema' || target.kind === 'spare') && history.length > 0 && pending.every(isTransactional);

/**
 * A unit's targets: current ones reported from the shared history read, the common case applied
 * `batchSize` schemas per transaction, everything else (and every target of a failed batch) one
 * by one.
 */
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
      for (const { target } of part) record(target, report(target, 'applied', applied.get(target.schema)!.map((a) => a.name), started));
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
  status,
  applied,
  ms: Math.round(performance.now() - since),
});

function failure(target: MigrationTarget, err: unknown, since: number): TargetReport {
  return {
    ...report(target, 'failed', [], since),
    migration: err instanceof MigrationError ? err.migration : undefined,
    error: (err as Error).message,
  };
}

async function applyTarget(
  target: MigrationTarget,
  connection: () => Promise<pg.Client>,
  options: FleetOptions,
): Promise<TargetReport> {
  const began = performance.now();
  const migrations = options.migrations[target.stream];
  const runtimeRole = target.stream === 'tenant' ? target.server.runtimeRole : undefined;
  try {
    const client = await connection();
    // Most deploys find most targets current: one read, no transaction, no lock.
    if (pendingFor(await readHistory(client, target.schema), migrations).length === 0) return report(target, 'current', [], began);
    for (let attempt = 0; ; attempt++) {
      try {
        const applied = await applyMigrations(client, {
          schema: target.schema,
          migrations,
          baseline: options.baselines?.[target.stream],
          runtimeRole,
          lockTimeoutMs: options.lockTimeoutMs,
          statementTimeoutMs: options.statementTimeoutMs,
        });
        return report(target, applied.length ? 'applied' : 'current', applied.map((a) => a.name), began);
      } catch (err) {
        // A spare claimed by a provisioning meanwhile is a tenant's schema now, migrated under its name.
        if (target.kind === 'spare' && errorCode(err) === '3F000') return report(target, 'current', [], began);
        if (!retryable.has(errorCode(err) ?? '') || attempt >= (options.lockRetries ?? 3)) throw err;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  } catch (err) {
    return failure(target, err, began);
  }
}
