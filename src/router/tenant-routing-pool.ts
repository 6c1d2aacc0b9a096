/**
 * The pg.Pool handed to Prisma's adapter. It owns no connections: each query is routed to the
 * pool of the database of the tenant bound to the call (see tenant-context.ts) and carries the
 * tenant context transaction-locally, set below Prisma: pipelined with the statement itself
 * (scoped-query.ts), or right after BEGIN in Prisma's own transactions (DESIGN.md §4).
 *
 * Prisma qualifies every table with the adapter's schema option; that placeholder is replaced by
 * the tenant's schema, which lets one Prisma client serve every tenant on every tier.
 */
import pg from 'pg';
import type { PoolRegistry } from './pool-registry.js';
import { missingStatementState, queryWithContext, type RoutedStatement, stalePlan } from './scoped-query.js';
import { currentBinding, type TenantBinding } from './tenant-context.js';

export const placeholderSchema = '__strata_tenant__';
const placeholderIdent = `"${placeholderSchema}"`;

type QueryInput = string | pg.QueryConfig;

function rewrite(input: QueryInput, binding: TenantBinding): QueryInput {
  if (typeof input === 'string') return input.replaceAll(placeholderIdent, binding.schemaIdent);
  return { ...input, text: input.text.replaceAll(placeholderIdent, binding.schemaIdent) };
}

/** Errors of checked-out connections (see queryFor), by connection: one listener serves them all. */
const failures = new WeakMap<pg.PoolClient, Error>();
function recordFailure(this: pg.PoolClient, err: Error) {
  failures.set(this, err);
}

const isText = (input: QueryInput, sql: string) => (typeof input === 'string' ? input : input.text) === sql;

/**
 * A connection checked out for one of Prisma's transactions: its BEGIN also binds the tenant.
 * Released while a transaction is still open, it is destroyed rather than returned to the pool,
 * so no later user can inherit the open transaction and its tenant context.
 */
class BoundConnection {
  #open = false;
  #failure: Error | undefined;
  readonly #onError = (err: Error) => {
    this.#failure = err;
  };

  constructor(
    private readonly client: pg.PoolClient,
    private readonly binding: TenantBinding,
  ) {
    // See queryFor: a checked-out client needs an 'error' listener of its own.
    client.on('error', this.#onError);
  }

  async query(input: QueryInput) {
    if (isText(input, 'BEGIN')) {
      await this.client.query(this.binding.beginSql);
      this.#open = true;
      return { command: 'BEGIN', rowCount: null, rows: [], fields: [], oid: 0 };
    }
    const result = await this.client.query(rewrite(input, this.binding));
    if (isText(input, 'COMMIT') || isText(input, 'ROLLBACK')) this.#open = false;
    return result;
  }

  release(err?: Error | boolean) {
    this.client.removeListener('error', this.#onError);
    this.client.release(err ?? this.#failure ?? (this.#open ? new Error('released with a transaction open') : undefined));
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

export class TenantRoutingPool extends pg.Pool {
  constructor(private readonly registry: PoolRegistry) {
    super({ max: 1 });
  }

  // Only the promise forms PrismaPg uses are supported; callbacks and streams are not routed.
  override query = (async (input: QueryInput) => {
    const binding = currentBinding();
    const config = rewrite(input, binding);
    return this.queryFor(binding, typeof config === 'string' ? { text: config } : config);
  }) as unknown as pg.Pool['query'];

  /** One statement on a connection of `binding`'s database, with its tenant context (genericPlan: see scoped-query.ts). */
  async queryFor(binding: TenantBinding, config: RoutedStatement, genericPlan = false): Promise<pg.QueryResult> {
    const pool = this.registry.openPool(binding.serverId, binding.database) ?? (await this.registry.poolFor(binding.serverId, binding.database));
    const client = await pool.connect();
    // pg-pool takes its idle 'error' listener off a client it hands out. Without one, a server ending
    // the session just after the statement (a restart: 57P01) was an uncaught exception that killed
    // the process (found by test/adversarial/postgres-restart.test.ts). The connection is dropped instead.
    client.on('error', recordFailure);
    const run = () => queryWithContext(client, config, binding.context, this.registry.ownSessions(pool), genericPlan);
    try {
      // A kept statement planned before a migration changed its table's columns fails before it
      // runs, and is forgotten: run again, it is parsed and planned anew.
      return await run().catch((err: unknown) => {
        if (stalePlan(err)) return run();
        throw err;
      });
    } catch (err) {
      // A statement error leaves the connection clean (its implicit transaction ended at Sync);
      // anything without a SQLSTATE (network, protocol) may not have: drop the connection. So is one
      // that lost a prepared statement (someone ran DISCARD or DEALLOCATE): it lost them all.
      const code = (err as { code?: string }).code;
      if (!code || code === missingStatementState) failures.set(client, err as Error);
      throw err;
    } finally {
      client.removeListener('error', recordFailure);
      const failure = failures.get(client);
      failures.delete(client);
      client.release(failure);
    }
  }

  override connect = (async () => {
    const binding = currentBinding();
    const client = await (await this.registry.poolFor(binding.serverId, binding.database)).connect();
    return new BoundConnection(client, binding);
  }) as unknown as pg.Pool['connect'];

  override async end(): Promise<void> {
    // Connections belong to the registry's pools, which the router closes.
  }
}
