/**
 * Every use of pg's and Prisma's non-public internals, each checked by missingDriverInternals(): if
 * an upgrade moves one, the platform refuses to start (test/platform/driver-internals.test.ts).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

/** pg/lib/connection.js. */
export interface PgConnection {
  parse(msg: { text: string; name: string; types: unknown[] }): void;
  bind(msg: { portal: string; statement: string; values: unknown[]; valueMapper: unknown }): void;
  execute(msg: { portal: string; rows: number }): void;
  close(msg: { type: 'S'; name: string }): void;
  parsedStatements: Record<string, string>;
}

/** pg/lib/query.js, subclassed in scoped-query.ts. */
export interface PgQuery {
  text: string;
  name: string | undefined;
  types: unknown;
  _rowMode: unknown;
  _result: unknown;
  _results: unknown;
  queryMode: string;
  prepare(connection: PgConnection): void;
  hasBeenParsed(connection: PgConnection): boolean;
  handleRowDescription(msg: unknown): void;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: PgConnection): void;
  handleError(err: Error, connection: PgConnection): void;
  callback?: (err: Error | null, result: pg.QueryResult) => void;
}

/** Exported by pg but undocumented. */
export const pgInternals = pg as unknown as {
  Query: new (text: string, values?: unknown[]) => PgQuery;
  Result: new (rowMode: unknown, types: unknown) => unknown;
  utils: { prepareValue: unknown };
};

export function connectionOf(client: pg.ClientBase): PgConnection {
  return (client as unknown as { connection: PgConnection }).connection;
}

/** Prisma 7's dataloader options (findUnique batching). */
export interface PrismaBatching {
  batchBy(request: object): string | undefined;
  singleLoader(request: object): Promise<unknown>;
  batchLoader(requests: object[]): Promise<unknown>;
}

/** Undefined when Prisma has moved them. */
export function prismaBatching(client: object): PrismaBatching | undefined {
  const options = (client as { _requestHandler?: { dataloader?: { options?: Partial<PrismaBatching> } } })._requestHandler?.dataloader?.options;
  const complete = typeof options?.batchBy === 'function' && typeof options.singleLoader === 'function' && typeof options.batchLoader === 'function';
  return complete ? (options as PrismaBatching) : undefined;
}

/** In the pg adapter's error shape (its onError), which Prisma's engines understand. */
export function throwAsAdapterError(adapter: object, err: unknown): never {
  const onError = (adapter as { onError?: (e: unknown) => never }).onError;
  if (typeof onError !== 'function') throw new Error('The Prisma pg adapter has no onError: see src/platform/driver-internals.ts', { cause: err });
  return onError.call(adapter, err);
}

const queryMethods = ['prepare', 'hasBeenParsed', 'handleRowDescription', 'handleDataRow', 'handleCommandComplete', 'handleError'] as const;
const connectionMethods = ['parse', 'bind', 'execute', 'close'] as const;

/** One line per missing internal; opens no connection. `prisma`: also check its batching. */
export async function missingDriverInternals(prisma?: object): Promise<string[]> {
  const missing: string[] = [];
  const { Query, Result, utils } = pgInternals;
  for (const method of queryMethods) if (typeof Query?.prototype?.[method] !== 'function') missing.push(`pg Query.prototype.${method}`);
  if (typeof Result !== 'function') missing.push('pg Result');
  if (typeof utils?.prepareValue !== 'function') missing.push('pg utils.prepareValue');
  const connection = connectionOf(new pg.Client()) as Partial<PgConnection> | undefined;
  if (!connection) missing.push('pg Client.connection');
  else {
    for (const method of connectionMethods) if (typeof connection[method] !== 'function') missing.push(`pg Connection.${method}`);
    if (typeof connection.parsedStatements !== 'object') missing.push('pg Connection.parsedStatements');
  }
  const pool = new pg.Pool();
  const adapter = await new PrismaPg(pool).connect();
  if (typeof (adapter as unknown as { onError?: unknown }).onError !== 'function') missing.push('Prisma pg adapter onError');
  await pool.end();
  if (prisma && !prismaBatching(prisma)) missing.push('Prisma client _requestHandler.dataloader.options');
  return missing;
}

/** Refuses to go on when an internal is missing: a silent fallback could unbind tenant context. */
export async function assertDriverInternals(prisma?: object): Promise<void> {
  const missing = await missingDriverInternals(prisma);
  if (missing.length) {
    throw new Error(`pg or Prisma internals Strata relies on are missing (an upgrade past the pinned versions?): ${missing.join(', ')}`);
  }
}
