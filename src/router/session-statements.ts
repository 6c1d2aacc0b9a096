/**
 * The statements a runtime connection keeps prepared, where it is a server session of its own
 * (not behind a transaction-mode pooler, which may run consecutive statements on other sessions).
 *
 * - The tenant context statement, parsed once per connection (scoped-query.ts).
 * - Tenant statements from their second use on the connection: under RLS, planning a read by id
 *   costs ~70 µs against ~20 µs of execution. A kept statement skips parsing and rewriting, and
 *   planning only where its caller allows a generic plan (scoped-query.ts, planModes).
 *
 * Keyed by text and search path: the same unqualified text is another tenant's table in another
 * schema. Statements hold no tenant data: values are parameters, and RLS reads the tenant context
 * at execution, not planning. Beyond `keptPerSession` the least recently used is closed (in the
 * next statement's pipeline); so is one whose execution failed, which may have preceded its parse.
 */
import { LRUCache } from 'lru-cache';

const keptPerSession = 100;

/** Texts seen once, remembered to prepare them on their second use: a one-off is never prepared. */
const seenPerSession = 2 * keptPerSession;

export class SessionStatements {
  /** Whether the context statement is prepared on this session. */
  contextPrepared = false;
  #closing: string[] = [];
  /** Statement names by key, least recently used evicted first: closed with the next statement sent. */
  readonly #kept = new LRUCache<string, string>({
    max: keptPerSession,
    dispose: (name, _key, reason) => {
      if (reason === 'evict' || reason === 'delete') this.#closing.push(name);
    },
  });
  readonly #seen = new LRUCache<string, true>({ max: seenPerSession });
  #named = 0;

  /** How many statements it keeps prepared (the context statement not counted). */
  get kept(): number {
    return this.#kept.size;
  }

  /** How to run the statement `key`: its name ('' when it runs unnamed) and whether to parse it first. */
  statementFor(key: string): { name: string; parse: boolean } {
    const kept = this.#kept.get(key);
    if (kept) return { name: kept, parse: false };
    if (!this.#seen.delete(key)) {
      this.#seen.set(key, true);
      return { name: '', parse: true };
    }
    const name = `strata_s${++this.#named}`;
    this.#kept.set(key, name);
    return { name, parse: true };
  }

  /** Stops using `key`'s statement: it is closed with the next statement sent. */
  forget(key: string): void {
    this.#kept.delete(key);
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
