/**
 * One statement run with the tenant context, in one round trip: the context statement and the
 * statement itself are pipelined in the extended protocol with a single Sync, so PostgreSQL runs
 * both in one implicit transaction. `set_config(…, true)` lasts until that Sync: the context cannot
 * outlive the statement, on a pooled connection or through PgBouncer in transaction mode. The
 * naive form (BEGIN + set_config, statement, COMMIT) costs three round trips, ~30% of throughput.
 *
 * Where a connection is a server session of its own, the context statement is a named prepared
 * statement, parsed once per connection: parsing and planning it each time cost the server
 * ~35 µs per read, about half of what a tenant-bound read costs beyond a plain one. It holds no
 * tenant data (the tenant is a parameter of each execution) and is not undone by a rollback; a
 * connection on which it has gone missing fails with SQLSTATE 26000 and is dropped by the caller.
 * Behind a transaction-mode pooler consecutive statements may run on different server sessions,
 * so there it is parsed unnamed with every statement, as before.
 *
 * Subclasses pg's (exported) Query: the context statement's messages go first and its result is
 * skipped. test/router covers it on every tier (context present, gone afterwards, errors).
 */
import pg from 'pg';

const contextSql = `SELECT set_config('app.tenant_id', $1, true), set_config('search_path', $2, true)`;

/** The context statement's name on connections that keep it; test/router/context-statement.test.ts looks for it. */
export const contextStatementName = 'strata_tenant_context';

/** SQLSTATE of a Bind naming a statement the session does not have. */
export const missingStatementState = '26000';

interface Connection {
  parse(msg: { text: string; name: string; types: unknown[] }): void;
  bind(msg: { portal: string; statement: string; values: unknown[]; valueMapper: unknown }): void;
  execute(msg: { portal: string; rows: number }): void;
}

const { Query, Result, utils } = pg as unknown as {
  Query: new (text: string, values?: unknown[]) => {
    name: string | undefined;
    types: unknown;
    _rowMode: unknown;
    _result: unknown;
    _results: unknown;
    queryMode: string;
    prepare(connection: Connection): void;
    handleRowDescription(msg: unknown): void;
    handleDataRow(msg: unknown): void;
    handleCommandComplete(msg: unknown, connection: Connection): void;
    callback?: (err: Error | null, result: pg.QueryResult) => void;
  };
  Result: new (rowMode: unknown, types: unknown) => unknown;
  utils: { prepareValue: unknown };
};

/** A statement as Prisma's adapter and the router's raw path send it. */
export type RoutedStatement = pg.QueryConfig & { rowMode?: 'array' };

/**
 * Connections whose session has been sent the named context statement. pg's own bookkeeping of
 * named statements follows only a query's main statement, so this keeps its own.
 */
const prepared = new WeakSet<Connection>();

class ScopedQuery extends Query {
  #inContext = true;

  constructor(
    config: RoutedStatement,
    private readonly context: [tenantId: string, searchPath: string],
    private readonly statement: string,
  ) {
    // From text and values, not the config object: pg copies a config through its property
    // descriptors, ~4 µs per statement. The rest of what a routed statement carries is set as
    // Query's constructor sets it.
    super(config.text, config.values);
    this.name = config.name;
    this.queryMode = 'extended';
    this.types = config.types;
    this._rowMode = config.rowMode;
    this._result = this._results = new Result(config.rowMode, config.types);
  }

  override prepare(connection: Connection) {
    const name = this.statement;
    if (!name || !prepared.has(connection)) {
      connection.parse({ text: contextSql, name, types: [] });
      if (name) prepared.add(connection);
    }
    connection.bind({ portal: '', statement: name, values: this.context, valueMapper: utils.prepareValue });
    // No Describe: the context statement's result is skipped, so nobody needs its row description.
    connection.execute({ portal: '', rows: 0 });
    super.prepare(connection);
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

/**
 * Runs `config` on `client` with the tenant context. `ownSession`: the connection is a server
 * session of its own (not multiplexed by a pooler), so the context statement may stay prepared on it.
 */
export function queryWithContext(
  client: pg.PoolClient,
  config: RoutedStatement,
  context: [tenantId: string, searchPath: string],
  ownSession: boolean,
): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const query = new ScopedQuery(config, context, ownSession ? contextStatementName : '');
    query.callback = (err, result) => (err ? reject(err) : resolve(result));
    client.query(query as unknown as pg.Submittable);
  });
}
