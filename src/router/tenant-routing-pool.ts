/**
 * The pg.Pool handed to Prisma's adapter. It owns no connections: each query runs on the bound
 * tenant's database, in its context (docs/architecture.md).
 */
import pg from 'pg';
import { connectionFailure, type PoolLease, type PoolRegistry } from './pool-registry.js';
import { countRows, type RouterObservers } from './router-observer.js';
import { missingStatementState, type PreparedTrace, queryWithContext, type RoutedStatement, stalePlan } from './scoped-query.js';
import { currentBinding, type TenantBinding } from './tenant-context.js';
import { GuardRejections, statementTimedOut, TenantBusyError } from './tenant-guards.js';
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

export class TenantRoutingPool extends pg.Pool {
  readonly rejections = new GuardRejections();
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
    const connected = began && performance.now();
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
      if (began) this.#reportStatement(binding, began, connected, result, trace!);
    }
  }

  #reportStatement(binding: TenantBinding, began: number, connected: number, result: pg.QueryResult | undefined, trace: PreparedTrace) {
    const rows = { read: 0, written: 0 };
    if (result) countRows(rows, result);
    const { tenantId, tier, serverId } = binding;
    this.#observers.statement({
      tenantId,
      tier,
      serverId,
      kind: 'statement',
      durationMs: performance.now() - connected,
      waitMs: connected - began,
      statements: 1,
      rowsRead: rows.read,
      rowsWritten: rows.written,
      failed: !result,
      ...trace,
    });
  }

  /** Undefined when a slot was free; refused, the pool is given back. */
  #admit(lease: PoolLease, binding: TenantBinding): Promise<void> | undefined {
    const queue = lease.queue;
    if (!queue || queue.tryEnter(binding.tenantId, binding.guards.maxConcurrentStatements)) return undefined;
    return queue.wait(binding.tenantId).catch((err: unknown) => {
      this.registry.leave(lease);
      if (err instanceof TenantBusyError) this.rejections.record(binding.tenantId, 'concurrency');
      throw err;
    });
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
    const observed = began ? new TransactionObservation(this.#observers, began, performance.now()) : undefined;
    return new BoundConnection(client, binding, () => this.#leave(lease, binding), this.rejections, observed);
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
