/**
 * Runs a statement with the tenant context in one round trip: the context statement is pipelined
 * before it with a single Sync, so both run in one implicit transaction and `set_config(…, true)`
 * cannot outlive it, pooled or behind PgBouncer. test/router covers it on every tier.
 */
import type pg from 'pg';
import { type PgConnection as Connection, pgInternals } from '../platform/driver-internals.js';
import { type SessionStatements, sessionStatements } from './session-statements.js';
import type { TenantBinding } from './tenant-context.js';

// The timeout applies from the next statement on (armed at each statement's first message).
// Null ($4) resets it to the role's or database's default.
const contextSql =
  `SELECT set_config('app.tenant_id', $1, true), set_config('search_path', $2, true), set_config('plan_cache_mode', $3, true), ` +
  `set_config('statement_timeout', $4, true)`;

/** Custom plans unless `genericPlan`: PostgreSQL's own choice scanned fresh tenants' unanalysed tables. */
const planModes = { generic: 'auto', custom: 'force_custom_plan' } as const;

/** test/router/context-statement.test.ts looks for it. */
export const contextStatementName = 'strata_tenant_context';

/** SQLSTATE of a Bind naming a statement the session does not have. */
export const missingStatementState = '26000';

/** Its table's columns changed since it was planned (a migration): run it again. */
export function stalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === '0A000' && e.message === 'cached plan must not change result type';
}

const { Query, Result, utils } = pgInternals;

export type RoutedStatement = pg.QueryConfig & { rowMode?: 'array' };

export interface PreparedTrace {
  contextKept: boolean;
  statementKept: boolean;
}

class ScopedQuery extends Query {
  #inContext = true;
  #kept: { session: SessionStatements; key: string } | undefined;
  #parse = true;

  readonly #contextValues: (string | null)[];
  readonly #searchPath: string;

  constructor(
    config: RoutedStatement,
    context: TenantBinding['context'],
    private readonly ownSession: boolean,
    genericPlan: boolean,
    private readonly trace: PreparedTrace | undefined,
  ) {
    // Not the config: pg copies it via property descriptors (~4 µs). The name is the session's to give.
    super(config.text, config.values);
    this.queryMode = 'extended';
    this.types = config.types;
    this._rowMode = config.rowMode;
    this._result = this._results = new Result(config.rowMode, config.types);
    this.#searchPath = context[1];
    this.#contextValues = [context[0], context[1], genericPlan ? planModes.generic : planModes.custom, context[2]];
  }

  override prepare(connection: Connection) {
    const session = this.ownSession ? sessionStatements(connection) : undefined;
    for (const name of session?.takeClosing() ?? []) {
      connection.close({ type: 'S', name });
      delete connection.parsedStatements[name];
    }
    const contextName = session ? contextStatementName : '';
    const contextKept = session?.contextPrepared === true;
    if (!contextKept) {
      connection.parse({ text: contextSql, name: contextName, types: [] });
      if (session) session.contextPrepared = true;
    }
    connection.bind({ portal: '', statement: contextName, values: this.#contextValues, valueMapper: utils.prepareValue });
    // No Describe: the context statement's result is skipped.
    connection.execute({ portal: '', rows: 0 });
    if (session) {
      const key = `${this.#searchPath} ${this.text}`;
      const { name, parse } = session.statementFor(key);
      this.name = name;
      this.#parse = parse;
      if (name) this.#kept = { session, key };
    }
    if (this.trace) {
      this.trace.contextKept = contextKept;
      this.trace.statementKept = !this.#parse;
    }
    super.prepare(connection);
  }

  override hasBeenParsed() {
    return !this.#parse;
  }

  override handleError(err: Error, connection: Connection) {
    // It may have failed before its Parse or after: closed and parsed again when next used.
    if (this.#kept) this.#kept.session.forget(this.#kept.key);
    super.handleError(err, connection);
  }

  override handleRowDescription(msg: unknown) {
    if (!this.#inContext) super.handleRowDescription(msg);
  }

  override handleDataRow(msg: unknown) {
    if (!this.#inContext) super.handleDataRow(msg);
  }

  override handleCommandComplete(msg: unknown, connection: Connection) {
    if (this.#inContext) this.#inContext = false;
    else super.handleCommandComplete(msg, connection);
  }
}

/** `ownSession`: not multiplexed by a pooler, so statements may stay prepared. */
export function queryWithContext(
  client: pg.PoolClient,
  config: RoutedStatement,
  context: TenantBinding['context'],
  ownSession: boolean,
  genericPlan = false,
  trace?: PreparedTrace,
): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const query = new ScopedQuery(config, context, ownSession, genericPlan, trace);
    query.callback = (err, result) => (err ? reject(err) : resolve(result));
    client.query(query as unknown as pg.Submittable);
  });
}
