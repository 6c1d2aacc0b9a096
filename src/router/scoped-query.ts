/**
 * One statement run with the tenant context, in one round trip: the context statement and the
 * statement itself are pipelined in the extended protocol with a single Sync, so PostgreSQL runs
 * both in one implicit transaction. `set_config(…, true)` lasts until that Sync: the context cannot
 * outlive the statement, on a pooled connection or through PgBouncer in transaction mode. The
 * naive form (BEGIN + set_config, statement, COMMIT) costs three round trips, ~30% of throughput.
 *
 * Subclasses pg's (exported) Query: the context statement's messages go first and its result is
 * skipped. test/router covers it on every tier (context present, gone afterwards, errors).
 */
import pg from 'pg';

const contextSql = `SELECT set_config('app.tenant_id', $1, true), set_config('search_path', $2, true)`;

interface Connection {
  parse(msg: { text: string; name: string; types: unknown[] }): void;
  bind(msg: { portal: string; statement: string; values: unknown[]; valueMapper: unknown }): void;
  describe(msg: { type: 'P'; name: string }): void;
  execute(msg: { portal: string; rows: number }): void;
}

const { Query, utils } = pg as unknown as {
  Query: new (config: object) => {
    prepare(connection: Connection): void;
    handleRowDescription(msg: unknown): void;
    handleDataRow(msg: unknown): void;
    handleCommandComplete(msg: unknown, connection: Connection): void;
    callback?: (err: Error | null, result: pg.QueryResult) => void;
  };
  utils: { prepareValue: unknown };
};

class ScopedQuery extends Query {
  #inContext = true;

  constructor(
    config: pg.QueryConfig,
    private readonly context: [tenantId: string, searchPath: string],
  ) {
    super({ ...config, queryMode: 'extended' });
  }

  override prepare(connection: Connection) {
    connection.parse({ text: contextSql, name: '', types: [] });
    connection.bind({ portal: '', statement: '', values: this.context, valueMapper: utils.prepareValue });
    connection.describe({ type: 'P', name: '' });
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

export function queryWithContext(
  client: pg.PoolClient,
  config: pg.QueryConfig,
  context: [tenantId: string, searchPath: string],
): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const query = new ScopedQuery(config, context);
    query.callback = (err, result) => (err ? reject(err) : resolve(result));
    client.query(query as unknown as pg.Submittable);
  });
}
