/**
 * Pipelines the tenant context statement before each statement under one Sync: `set_config(…, true)`
 * cannot outlive their implicit transaction, pooled or behind PgBouncer (test/router).
 */
import type pg from 'pg';
import { type PgConnection as Connection, pgInternals } from '../platform/driver-internals.js';
import { type SessionStatements, sessionStatements } from './session-statements.js';
import type { TenantBinding } from './tenant-context.js';

// The timeout is armed at the next statement's first message; null ($4) resets it to the default.
const contextSql =
  `SELECT set_config('app.tenant_id', $1, true), set_config('search_path', $2, true), set_config('plan_cache_mode', $3, true), ` +
  `set_config('statement_timeout', $4, true)`;

/** Custom unless `genericPlan`: PostgreSQL's own choice scanned fresh tenants' unanalysed tables. */
const planModes = { generic: 'auto', custom: 'force_custom_plan' } as const;

/** test/router/context-statement.test.ts looks for it. */
export const contextStatementName = 'strata_tenant_context';

export const missingStatementState = '26000';

/** Its table changed since it was planned (a migration). */
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
    // Not the config, which pg copies slowly; the name is the session's to give.
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
    // It may have failed before its Parse: closed and parsed again when next used.
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

/** `ownSession`: no pooler, so statements may stay prepared. */
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
