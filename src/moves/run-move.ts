/**
 * The tier move runner (docs/moves.md#how-a-move-works): each phase is idempotent and recorded before
 * it starts, so a killed runner resumes. Writes are refused only from fence to invalidate; before the
 * flip a cancel or failure rolls back, after it phases retry. One runner per job: a session advisory
 * lock, freed when its process dies; a runner that loses its lock session stops at once.
 */
import pg from 'pg';
import { recordAdminAction } from '../admin/admin-audit.js';
import type { Tenant } from '../catalog/catalog-client.js';
import { databaseNames } from '../platform/platform.js';
import type { ProgressEvent } from '../progress/progress-reporter.js';
import { connectionConfig } from '../servers/server-access.js';
import { tenantTables, type TenantTable } from '../transfer/tenant-tables.js';
import { fenceWrites, liftCapture, startCapture } from './change-capture.js';
import { bulkCopy, catchUpPass, type Side } from './catch-up.js';
import { migrationNames, ownedSequences, prepareTarget, removeLocation, type Location } from './move-locations.js';
import { flippedPhases, type MoveDeps, type MovePhase, type MoveProgress, readProgress, saveProgress, setPhase, type TenantMove } from './move-jobs.js';

export interface RunMoveOptions {
  /** Stops between steps (e.g. at shutdown); the job stays resumable. */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** Awaited as each phase starts, after it is recorded (tests stop the process here). */
  onPhase?: (phase: MovePhase) => void | Promise<void>;
  /** Before the source is removed; default STRATA_MOVE_GRACE_MS. */
  graceMs?: number;
  /** Fence once a catch-up pass finds at most this many changed rows. */
  fenceBacklog?: number;
  maxCatchUpPasses?: number;
}

export class MoveBusyError extends Error {
  constructor(jobId: string) {
    super(`move ${jobId} is being run by another process`);
    this.name = 'MoveBusyError';
  }
}

export class MoveLockLostError extends Error {
  constructor(jobId: string, cause: Error) {
    super(`move ${jobId} lost its lock session (${cause.message}); stopped, to be resumed`, { cause });
    this.name = 'MoveLockLostError';
  }
}

/** Retries after the flip (and of a rollback) wait 1 s, doubling up to this. */
const maxRetryDelayMs = 60_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
  });

const source = (job: TenantMove): Location => ({ tier: job.fromTier, serverId: job.fromServerId, schema: job.fromSchema, database: job.fromDatabase });
const target = (job: TenantMove): Location => ({ tier: job.toTier, serverId: job.toServerId, schema: job.toSchema, database: job.toDatabase });
const side = (client: pg.ClientBase, location: Location): Side => ({ client, schema: location.schema, shared: location.tier === 'pooled' });

/** Runs (or resumes) a move to its end: succeeded, cancelled or failed. */
export async function runMove(deps: MoveDeps, jobId: string, options: RunMoveOptions = {}): Promise<TenantMove> {
  const lock = new pg.Client(connectionConfig(deps.defaultServer, 'owner', databaseNames(deps.config.database.prefix).catalog));
  const lost = new AbortController();
  lock.on('error', (err) => lost.abort(new MoveLockLostError(jobId, err)));
  await lock.connect();
  try {
    const { rows } = await lock.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended('strata.move.' || $1::text, 0)) AS ok`, [jobId]);
    if (!rows[0]!.ok) throw new MoveBusyError(jobId);
    const signal = options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal;
    const run = new MoveRun(deps, jobId, { ...options, signal });
    lost.signal.addEventListener('abort', () => void run.closeClients(), { once: true });
    return await run.run();
  } finally {
    await lock.end().catch(() => undefined);
  }
}

class MoveRun {
  #job!: TenantMove;
  #progress: MoveProgress = {};
  #lastSaved = 0;
  #retryPhase: MovePhase | undefined;
  #retries = 0;
  readonly #clients = new Map<'source' | 'target', pg.Client>();
  #tableList: TenantTable[] | undefined;

  constructor(
    private readonly deps: MoveDeps,
    private readonly jobId: string,
    private readonly options: RunMoveOptions,
  ) {}

  get #catalog() {
    return this.deps.catalog;
  }

  #emit(event: ProgressEvent) {
    this.options.onProgress?.({ job: this.jobId, ...event });
  }

  async run(): Promise<TenantMove> {
    try {
      return await this.#run();
    } finally {
      await this.closeClients();
    }
  }

  async #run(): Promise<TenantMove> {
    this.#job = await this.#catalog.tenantMove.findUniqueOrThrow({ where: { id: this.jobId } });
    this.#progress = readProgress(this.#job);
    while (this.#job.status === 'running') {
      this.options.signal?.throwIfAborted();
      const job = this.#job;
      if (job.cancelRequested && job.phase !== 'rollback' && !flippedPhases.includes(job.phase)) {
        this.#job = await setPhase(this.#catalog, job.id, 'rollback');
        continue;
      }
      this.#emit({ event: 'move.phase', phase: job.phase });
      await this.options.onPhase?.(job.phase);
      let next: MovePhase;
      try {
        next = await this.#step(job.phase);
      } catch (err) {
        await this.closeClients();
        if (this.options.signal?.aborted) throw err;
        await this.#failed(err);
        continue;
      }
      if (next !== job.phase) this.#job = await setPhase(this.#catalog, job.id, next);
      // Re-read for a cancel; a finished job is gone once its tenant is purged.
      const fresh = await this.#catalog.tenantMove.findUnique({ where: { id: this.jobId } });
      if (!fresh) break;
      this.#job = fresh;
    }
    this.#emit({ event: 'move.finished', status: this.#job.status, error: this.#job.error });
    return this.#job;
  }

  /** Before the flip commits a failure rolls back (a failed flip changed nothing); later, retried. */
  async #failed(err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    const { phase } = this.#job;
    if (phase === 'rollback' || flippedPhases.includes(phase)) {
      this.#retries = this.#retryPhase === phase ? this.#retries + 1 : 1;
      this.#retryPhase = phase;
      const delayMs = Math.min(maxRetryDelayMs, 1000 * 2 ** (this.#retries - 1));
      this.deps.log.warn({ err, job: this.jobId, phase, attempt: this.#retries, delayMs }, 'tier move step will be retried');
      this.#emit({ event: 'move.retry', phase, attempt: this.#retries, delayMs, error: message });
      this.#job = await this.#catalog.tenantMove.update({ where: { id: this.jobId }, data: { error: message } });
      await sleep(delayMs, this.options.signal);
      return;
    }
    this.deps.log.warn({ err, job: this.jobId, phase }, 'tier move step failed');
    this.#emit({ event: 'move.failed', phase, error: message });
    this.#job = await setPhase(this.#catalog, this.jobId, 'rollback', { error: message });
  }

  async #step(phase: MovePhase): Promise<MovePhase> {
    switch (phase) {
      case 'prepare':
        return this.#prepare();
      case 'capture':
        await this.#withSource((client, tables) => startCapture(client, this.#job.fromSchema, tables, this.#job.tenantId));
        return 'copy';
      case 'copy':
        return this.#copy();
      case 'catchup':
        return this.#catchUp();
      case 'verify': {
        const pass = await this.#pass('checksums');
        this.#progress.verified = pass.verified;
        await saveProgress(this.#catalog, this.jobId, this.#progress);
        return 'fence';
      }
      case 'fence':
        this.#job = await setPhase(this.#catalog, this.jobId, 'fence', { fencedAt: this.#job.fencedAt ?? new Date() });
        await this.#withSource((client, tables) => fenceWrites(client, this.#job.fromSchema, tables, this.#job.tenantId));
        return 'final';
      case 'final':
        await this.#checkVersions();
        await this.#pass('keys');
        return 'flip';
      case 'flip':
        return this.#flip();
      case 'invalidate':
        await this.deps.tenants.changed(this.#job.tenantId);
        return 'cleanup';
      case 'cleanup':
        return this.#cleanup();
      case 'rollback':
        return this.#rollback();
      case 'done':
        await this.#finish('succeeded');
        return 'done';
    }
  }

  async #tenant(): Promise<Tenant> {
    return this.#catalog.tenant.findUniqueOrThrow({ where: { id: this.#job.tenantId } });
  }

  /** Kept across phases (fenced phases should not pay to connect); closed on failure, before drops. */
  async #client(end: 'source' | 'target'): Promise<pg.Client> {
    let client = this.#clients.get(end);
    if (!client) {
      const location = end === 'source' ? source(this.#job) : target(this.#job);
      client = new pg.Client(connectionConfig(await this.deps.servers.byId(location.serverId), 'owner', location.database));
      client.on('error', () => undefined); // surfaces as the failure of the query under way
      await client.connect();
      this.#clients.set(end, client);
    }
    return client;
  }

  async closeClients() {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }

  /** The source tables, read once per run (a migration meanwhile fails the version check). */
  async #tables(): Promise<TenantTable[]> {
    this.#tableList ??= await tenantTables(await this.#client('source'), this.#job.fromSchema);
    return this.#tableList;
  }

  async #withSource<T>(fn: (client: pg.Client, tables: TenantTable[]) => Promise<T>): Promise<T> {
    return fn(await this.#client('source'), await this.#tables());
  }

  async #withSides<T>(fn: (from: Side, to: Side, tables: TenantTable[]) => Promise<T>): Promise<T> {
    const [from, to] = [await this.#client('source'), await this.#client('target')];
    return fn(side(from, source(this.#job)), side(to, target(this.#job)), await this.#tables());
  }

  async #prepare(): Promise<MovePhase> {
    const sequences = await ownedSequences(await this.#client('source'), this.#job.fromSchema);
    if (sequences.length) throw new Error(`the tenant's tables own sequences (${sequences.join(', ')}), whose values a move does not carry`);
    await prepareTarget(this.deps, await this.#tenant(), target(this.#job));
    this.#progress.version = await this.#checkVersions();
    await saveProgress(this.#catalog, this.jobId, this.#progress);
    return 'capture';
  }

  /** Both ends at the starting version: a migration meanwhile may backfill before all rows arrive. */
  async #checkVersions(): Promise<string> {
    const [from, to] = await Promise.all([
      this.#client('source').then((c) => migrationNames(c, this.#job.fromSchema)),
      this.#client('target').then((c) => migrationNames(c, this.#job.toSchema)),
    ]);
    if (from.join() !== to.join()) {
      throw new Error(
        `source and target are at different migration versions (${from.at(-1) ?? 'none'} vs ${to.at(-1) ?? 'none'}): ` +
          'bring every target to the current version (npm run migrate -- apply) and move again',
      );
    }
    const version = `${from.length}:${from.at(-1) ?? 'none'}`;
    const started = this.#progress.version;
    if (started && started !== version) {
      throw new Error(`a migration was applied while the tenant was moving (${started} → ${version}); move it again`);
    }
    return version;
  }

  async #copy(): Promise<MovePhase> {
    const started = performance.now();
    this.#progress = { ...this.#progress, tables: {}, copyStartedAt: new Date().toISOString() };
    await this.#withSides((from, to, tables) =>
      bulkCopy({
        source: from,
        target: to,
        tables,
        tenantId: this.#job.tenantId,
        onTotals: (totals) => {
          this.#progress.tables = Object.fromEntries(Object.entries(totals).map(([t, total]) => [t, { copied: 0, total }]));
          this.#emit({ event: 'move.totals', totals });
          void this.#saveThrottled(true);
        },
        onRows: (table, copied) => {
          const entry = this.#progress.tables![table];
          if (entry) entry.copied = copied;
          this.#emit({ event: 'move.copied', table, copied, total: entry?.total ?? copied });
          void this.#saveThrottled(false);
        },
      }),
    );
    this.#progress.copyMs = Math.round(performance.now() - started);
    await saveProgress(this.#catalog, this.jobId, this.#progress);
    return 'catchup';
  }

  async #saveThrottled(force: boolean) {
    if (!force && Date.now() - this.#lastSaved < 1000) return;
    this.#lastSaved = Date.now();
    await saveProgress(this.#catalog, this.jobId, this.#progress).catch((err: unknown) =>
      this.deps.log.warn({ err, job: this.jobId }, 'saving move progress failed'),
    );
  }

  async #pass(verify?: 'keys' | 'checksums') {
    const pass = await this.#withSides((from, to, tables) => catchUpPass({ source: from, target: to, tables, tenantId: this.#job.tenantId, verify }));
    this.#progress.catchUpPasses = (this.#progress.catchUpPasses ?? 0) + 1;
    this.#progress.caughtUpKeys = (this.#progress.caughtUpKeys ?? 0) + pass.keys;
    this.#emit({ event: 'move.caughtup', keys: pass.keys, upserted: pass.upserted, deleted: pass.deleted, verified: !!verify });
    return pass;
  }

  /** Passes until one finds a small backlog, so the fenced final pass has little to do. */
  async #catchUp(): Promise<MovePhase> {
    const maxPasses = this.options.maxCatchUpPasses ?? 20;
    for (let n = 1; n <= maxPasses; n++) {
      const pass = await this.#pass();
      if (pass.keys <= (this.options.fenceBacklog ?? 200)) break;
      const { cancelRequested } = await this.#catalog.tenantMove.findUniqueOrThrow({ where: { id: this.jobId } });
      if (cancelRequested) break;
    }
    await saveProgress(this.#catalog, this.jobId, this.#progress);
    return 'verify';
  }

  /** One atomic statement inside the fence: new placement and job past its flip, or neither. */
  async #flip(): Promise<MovePhase> {
    const job = this.#job;
    const cleanupAfter = new Date(Date.now() + (this.options.graceMs ?? this.deps.config.moves.graceMs));
    const progress: MoveProgress = { ...this.#progress, cleanupAfter: cleanupAfter.toISOString() };
    if (job.fencedAt) progress.fenceMs = Date.now() - job.fencedAt.getTime();
    const flipped = await this.#catalog.$executeRaw`
      WITH moved AS (
        UPDATE tenants
           SET tier = ${job.toTier}::"TenantTier", server_id = ${job.toServerId}::uuid,
               schema_name = ${job.toSchema}, database_name = ${job.toDatabase}, version = version + 1,
               status = CASE WHEN status = 'moving' THEN 'active'::"TenantStatus" ELSE status END, updated_at = now()
         WHERE id = ${job.tenantId}::uuid AND server_id = ${job.fromServerId}::uuid
           AND schema_name = ${job.fromSchema} AND database_name = ${job.fromDatabase}
        RETURNING id)
      UPDATE tenant_moves
         SET phase = 'invalidate'::"MovePhase", flipped_at = now(), updated_at = now(), progress = ${JSON.stringify(progress)}::jsonb
       WHERE id = ${job.id}::uuid AND EXISTS (SELECT 1 FROM moved)`;
    if (flipped !== 1) throw new Error('the tenant is no longer at the move’s source in the catalog; not switching it');
    this.#progress = progress;
    return 'invalidate';
  }

  async #cleanup(): Promise<MovePhase> {
    await this.closeClients();
    let announced = false;
    // Re-read, not slept in one go: a purge brings the grace forward (cleanupNow).
    for (;;) {
      const { cleanupAfter } = readProgress(await this.#catalog.tenantMove.findUniqueOrThrow({ where: { id: this.jobId } }));
      const after = Date.parse(cleanupAfter ?? '') || 0;
      if (after <= Date.now()) break;
      if (!announced) this.#emit({ event: 'move.grace', until: new Date(after).toISOString() });
      announced = true;
      await sleep(Math.min(after - Date.now(), 1000), this.options.signal);
    }
    await removeLocation(this.deps, this.#job.tenantId, source(this.#job));
    return 'done';
  }

  /** Source first: a dead target server must not keep the tenant unwritable. Each step is idempotent. */
  async #rollback(): Promise<MovePhase> {
    const job = this.#job;
    await this.#withSource((client, tables) => liftCapture(client, job.fromSchema, tables, job.tenantId));
    const { count } = await this.#catalog.tenant.updateMany({ where: { id: job.tenantId, status: 'moving' }, data: { status: 'active' } });
    if (count) await this.deps.tenants.changed(job.tenantId);
    await this.closeClients();
    await removeLocation(this.deps, job.tenantId, target(job));
    await this.#finish(job.cancelRequested ? 'cancelled' : 'failed');
    return 'rollback';
  }

  async #finish(status: TenantMove['status']) {
    this.#job = await this.#catalog.tenantMove.update({
      where: { id: this.jobId },
      // A success clears the error of a retried step (it is in the log); a failure keeps its cause.
      data: { status, activeTenantId: null, finishedAt: new Date(), ...(status === 'succeeded' && { error: null }) },
    });
    const { tenantId, fromTier, toTier, error } = this.#job;
    await recordAdminAction(this.#catalog, {
      adminId: null,
      action: `tenant.move.${status}`,
      tenantId,
      details: { jobId: this.jobId, from: fromTier, to: toTier, ...(error && { error }), fenceMs: this.#progress.fenceMs },
    });
  }
}
