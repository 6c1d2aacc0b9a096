/**
 * The pg.Pool handed to Prisma's adapter. It owns no connections: each query runs on the bound
 * tenant's database, in its context (docs/architecture.md).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { DbTimeBudget } from './db-time-budget.js';
import type { FairQueue } from './fair-queue.js';
import { connectionFailure, type PoolLease, type PoolRegistry } from './pool-registry.js';
import { countRows, type RouterObservers } from './router-observer.js';
import { missingStatementState, type PreparedTrace, queryWithContext, type RoutedStatement, stalePlan } from './scoped-query.js';
import { currentBinding, type TenantBinding } from './tenant-context.js';
import { GuardRejections, statementTimedOut, TenantBusyError, TenantDbTimeError } from './tenant-guards.js';
import { databaseUnreachable } from './tenant-sql.js';

export const placeholderSchema = '__strata_tenant__';
const placeholderIdent = `"${placeholderSchema}"`;

type QueryInput = string | pg.QueryConfig;

function rewrite(input: QueryInput, binding: TenantBinding): QueryInput {
  if (typeof input === 'string') return input.replaceAll(placeholderIdent, binding.schemaIdent);
  return { ...input, text: input.text.replaceAll(placeholderIdent, binding.schemaIdent) };
}

const isText = (input: QueryInput, sql: string) => (typeof input === 'string' ? input : input.text) === sql;

/** Bound by its transaction's BEGIN; released mid-transaction, it is destroyed, context and all. */
class BoundConnection {
  #open = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly binding: TenantBinding,
    private readonly leavePool: () => void,
    private readonly rejections: GuardRejections,
    private readonly observed: TransactionObservation | undefined,
  ) {}

  async query(input: QueryInput) {
    if (isText(input, 'BEGIN')) {
      await this.client.query(this.binding.beginSql);
      this.#open = true;
      return { command: 'BEGIN', rowCount: null, rows: [], fields: [], oid: 0 };
    }
    const result = await this.client.query(rewrite(input, this.binding)).catch((err: unknown) => {
      if (statementTimedOut(err)) this.rejections.record(this.binding.tenantId, 'statementTimeout');
      if (this.observed) this.observed.failed = true;
      throw err;
    });
    if (isText(input, 'COMMIT') || isText(input, 'ROLLBACK')) this.#open = false;
    else if (this.observed) {
      this.observed.statements++;
      countRows(this.observed.rows, result);
    }
    return result;
  }

  release(err?: Error | boolean) {
    const failure = err ?? connectionFailure(this.client) ?? (this.#open ? new Error('released with a transaction open') : undefined);
    this.client.release(failure);
    this.leavePool();
    if (this.observed) this.observed.report(this.binding, Boolean(failure));
  }

  on(event: string, listener: (...args: unknown[]) => void) {
    this.client.on(event as 'error', listener);
    return this;
  }

  removeListener(event: string, listener: (...args: unknown[]) => void) {
    this.client.removeListener(event as 'error', listener);
    return this;
  }
}

class TransactionObservation {
  statements = 0;
  readonly rows = { read: 0, written: 0 };
  failed = false;

  constructor(
    private readonly observers: RouterObservers,
    private readonly began: number,
    private readonly connected: number,
  ) {}

  report(binding: TenantBinding, failed: boolean) {
    const { tenantId, tier, serverId } = binding;
    this.observers.statement({
      tenantId,
      tier,
      serverId,
      kind: 'transaction',
      durationMs: performance.now() - this.connected,
      waitMs: this.connected - this.began,
      statements: this.statements,
      rowsRead: this.rows.read,
      rowsWritten: this.rows.written,
      failed: failed || this.failed,
      contextKept: false,
      statementKept: false,
    });
  }
}

/** Shared pools hold a tenant to its share of statement time. */
const budgeted = (lease: PoolLease, binding: TenantBinding) => lease.queue !== undefined && binding.guards.dbTimeMsPerSecond !== null;

export class TenantRoutingPool extends pg.Pool {
  readonly rejections = new GuardRejections();
  readonly #dbTime = new DbTimeBudget();
  readonly #observers: RouterObservers;

  constructor(private readonly registry: PoolRegistry) {
    super({ max: 1 });
    this.#observers = registry.observers;
  }

  // Promise forms only (as PrismaPg uses): callbacks and streams are not routed.
  override query = (async (input: QueryInput) => {
    const binding = currentBinding();
    const config = rewrite(input, binding);
    return this.queryFor(binding, typeof config === 'string' ? { text: config } : config);
  }) as unknown as pg.Pool['query'];

  async queryFor(binding: TenantBinding, config: RoutedStatement, genericPlan = false): Promise<pg.QueryResult> {
    const began = this.#observers.list.length === 0 ? 0 : performance.now();
    const lease = this.registry.enter(binding.serverId, binding.database) ?? (await this.registry.enterOnceOpen(binding.serverId, binding.database));
    const admitting = this.#admit(lease, binding);
    if (admitting) await admitting;
    // Inline, not #connect: one promise less per statement.
    let client: pg.PoolClient;
    try {
      client = await lease.pool.connect();
    } catch (err) {
      this.#leave(lease, binding);
      this.registry.reportUnreachable(binding.serverId);
      throw err;
    }
    let failure: Error | undefined;
    const connected = began || budgeted(lease, binding) ? performance.now() : 0;
    const trace: PreparedTrace | undefined = began ? { contextKept: false, statementKept: false } : undefined;
    let result: pg.QueryResult | undefined;
    const run = () => queryWithContext(client, config, binding.context, lease.ownSessions, genericPlan, trace);
    try {
      // A kept statement a migration made stale fails before running: run it anew.
      result = await run().catch((err: unknown) => {
        if (stalePlan(err)) return run();
        throw err;
      });
      return result;
    } catch (err) {
      // A statement error leaves the connection clean (its implicit transaction ends at Sync). Drop
      // it on an error without SQLSTATE, a terminated session or lost prepared statements.
      const code = (err as { code?: string }).code;
      if (statementTimedOut(err)) this.rejections.record(binding.tenantId, 'statementTimeout');
      if (!code || code === missingStatementState || databaseUnreachable(err)) failure = err as Error;
      if (databaseUnreachable(err)) this.registry.reportUnreachable(binding.serverId);
      throw err;
    } finally {
      client.release(failure ?? connectionFailure(client));
      this.#leave(lease, binding);
      if (connected) {
        const heldMs = performance.now() - connected;
        this.#charge(lease, binding, heldMs);
        if (began) this.#reportStatement(binding, began, connected, heldMs, result, trace!);
      }
    }
  }

  #reportStatement(binding: TenantBinding, began: number, connected: number, heldMs: number, result: pg.QueryResult | undefined, trace: PreparedTrace) {
    const rows = { read: 0, written: 0 };
    if (result) countRows(rows, result);
    const { tenantId, tier, serverId } = binding;
    this.#observers.statement({
      tenantId,
      tier,
      serverId,
      kind: 'statement',
      durationMs: heldMs,
      waitMs: connected - began,
      statements: 1,
      rowsRead: rows.read,
      rowsWritten: rows.written,
      failed: !result,
      ...trace,
    });
  }

  /** Undefined when the tenant had time left and a slot was free; refused, the pool is given back. */
  #admit(lease: PoolLease, binding: TenantBinding): Promise<void> | undefined {
    const queue = lease.queue;
    if (!queue) return undefined;
    const share = binding.guards.dbTimeMsPerSecond;
    const owedMs = share === null ? 0 : this.#dbTime.owedMs(binding.tenantId, share);
    if (owedMs === 0 && queue.tryEnter(binding.tenantId, binding.guards.maxConcurrentStatements)) return undefined;
    return this.#admitLater(queue, binding, owedMs).catch((err: unknown) => {
      this.registry.leave(lease);
      if (err instanceof TenantBusyError) this.rejections.record(binding.tenantId, 'concurrency');
      if (err instanceof TenantDbTimeError) this.rejections.record(binding.tenantId, 'dbTime');
      throw err;
    });
  }

  /**
   * Its turn, with time to spend: an overdraft is waited out if earned back within the queue's
   * wait, and a turn granted while the tenant owes (its earlier statements ran meanwhile) is handed on.
   */
  async #admitLater(queue: FairQueue, binding: TenantBinding, owedMs: number): Promise<void> {
    const { tenantId, guards } = binding;
    const deadline = performance.now() + queue.waitMs;
    for (;;) {
      if (owedMs > 0) {
        if (performance.now() + owedMs > deadline) throw new TenantDbTimeError(guards.dbTimeMsPerSecond!, owedMs);
        await sleep(owedMs);
      }
      if (!queue.tryEnter(tenantId, guards.maxConcurrentStatements)) await queue.wait(tenantId);
      owedMs = guards.dbTimeMsPerSecond === null ? 0 : this.#dbTime.owedMs(tenantId, guards.dbTimeMsPerSecond);
      if (owedMs === 0) return;
      queue.leave(tenantId);
    }
  }

  #charge(lease: PoolLease, binding: TenantBinding, heldMs: number) {
    if (budgeted(lease, binding)) this.#dbTime.charge(binding.tenantId, binding.guards.dbTimeMsPerSecond!, heldMs);
  }

  #leave(lease: PoolLease, binding: TenantBinding) {
    lease.queue?.leave(binding.tenantId);
    this.registry.leave(lease);
  }

  override connect = (async () => {
    const binding = currentBinding();
    const began = this.#observers.list.length === 0 ? 0 : performance.now();
    const lease = this.registry.enter(binding.serverId, binding.database) ?? (await this.registry.enterOnceOpen(binding.serverId, binding.database));
    const admitting = this.#admit(lease, binding);
    if (admitting) await admitting;
    const client = await this.#connect(lease, binding);
    const connected = performance.now();
    const observed = began ? new TransactionObservation(this.#observers, began, connected) : undefined;
    const leavePool = () => {
      this.#charge(lease, binding, performance.now() - connected);
      this.#leave(lease, binding);
    };
    return new BoundConnection(client, binding, leavePool, this.rejections, observed);
  }) as unknown as pg.Pool['connect'];

  async #connect(lease: PoolLease, binding: TenantBinding): Promise<pg.PoolClient> {
    try {
      return await lease.pool.connect();
    } catch (err) {
      this.#leave(lease, binding);
      this.registry.reportUnreachable(binding.serverId);
      throw err;
    }
  }

  override async end(): Promise<void> {
    // Nothing to end: the router closes the registry's pools.
  }
}
