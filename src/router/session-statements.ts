/**
 * The statements a runtime connection keeps prepared, where it is a server session of its own
 * (not behind a transaction-mode pooler, which may run consecutive statements on other sessions).
 *
 * - The tenant context statement, parsed once per connection (scoped-query.ts).
 * - Tenant statements from their second use on the connection: parsing and rewriting one (RLS is
 *   applied there) and planning it cost the server more than running it (a read by id: ~70 µs of
 *   planning under RLS against ~20 µs of execution, EXPLAIN's summary), and the router's raw path
 *   was bound by the server's CPU. A kept statement skips parsing and rewriting; it skips planning
 *   only where its caller allows one plan for any values (scoped-query.ts, planModes).
 *
 * A kept statement is keyed by its text and the search path it runs under: the same unqualified
 * text means another table in another tenant's schema, and PostgreSQL would re-plan a statement
 * shared across search paths on every switch, or refuse it when the two tables' columns differ
 * (mid-migration). Statements hold no tenant data: values are parameters of each execution, and
 * RLS reads the tenant context at execution, not planning. At most `keptPerSession` are kept, the
 * least recently used closed (in the pipeline of the next statement) beyond that; so is one whose
 * execution failed, since it may have failed before or after being parsed.
 */
const keptPerSession = 100;

/** Texts seen once, remembered to prepare them on their second use: a one-off is never prepared. */
const seenPerSession = 2 * keptPerSession;

export class SessionStatements {
  /** Whether the context statement is prepared on this session. */
  contextPrepared = false;
  readonly #kept = new Map<string, string>();
  readonly #seen = new Set<string>();
  #closing: string[] = [];
  #named = 0;

  /** How many statements it keeps prepared (the context statement not counted). */
  get kept(): number {
    return this.#kept.size;
  }

  /** How to run the statement `key`: its name ('' when it runs unnamed) and whether to parse it first. */
  statementFor(key: string): { name: string; parse: boolean } {
    const kept = this.#kept.get(key);
    if (kept) {
      this.#kept.delete(key);
      this.#kept.set(key, kept);
      return { name: kept, parse: false };
    }
    if (!this.#seen.delete(key)) {
      this.#seen.add(key);
      if (this.#seen.size > seenPerSession) this.#seen.delete(this.#seen.values().next().value!);
      return { name: '', parse: true };
    }
    const name = `strata_s${++this.#named}`;
    this.#kept.set(key, name);
    if (this.#kept.size > keptPerSession) {
      const [oldest, evicted] = this.#kept.entries().next().value!;
      this.#kept.delete(oldest);
      this.#closing.push(evicted);
    }
    return { name, parse: true };
  }

  /** Stops using `key`'s statement: it is closed with the next statement sent. */
  forget(key: string): void {
    const name = this.#kept.get(key);
    if (!name) return;
    this.#kept.delete(key);
    this.#closing.push(name);
  }

  /** Names of statements to close now (closing one the session lacks is no error). */
  takeClosing(): string[] {
    const closing = this.#closing;
    this.#closing = [];
    return closing;
  }
}

const sessions = new WeakMap<object, SessionStatements>();

/** The statements of the session behind `connection` (pg's Connection: one per server session). */
export function sessionStatements(connection: object): SessionStatements {
  let session = sessions.get(connection);
  if (!session) sessions.set(connection, (session = new SessionStatements()));
  return session;
}

/** Statements kept prepared on the session behind `connection`, without adopting it. */
export function keptStatementCount(connection: object): number {
  return sessions.get(connection)?.kept ?? 0;
}
