/**
 * Statements kept prepared per server session from their second use, keyed by search path and
 * text. No tenant data is kept: values are parameters, and RLS reads the context at execution.
 */
import { LRUCache } from 'lru-cache';

const keptPerSession = 100;
const seenPerSession = 2 * keptPerSession;

export class SessionStatements {
  contextPrepared = false;
  #closing: string[] = [];
  /** An evicted name is closed with the next statement sent. */
  readonly #kept = new LRUCache<string, string>({
    max: keptPerSession,
    dispose: (name, _key, reason) => {
      if (reason === 'evict' || reason === 'delete') this.#closing.push(name);
    },
  });
  readonly #seen = new LRUCache<string, true>({ max: seenPerSession });
  #named = 0;

  get kept(): number {
    return this.#kept.size;
  }

  /** Its name ('' to run unnamed) and whether to parse it first. */
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

  forget(key: string): void {
    this.#kept.delete(key);
  }

  /** Closing one the session lacks is no error. */
  takeClosing(): string[] {
    const closing = this.#closing;
    this.#closing = [];
    return closing;
  }
}

const sessions = new WeakMap<object, SessionStatements>();

export function sessionStatements(connection: object): SessionStatements {
  let session = sessions.get(connection);
  if (!session) sessions.set(connection, (session = new SessionStatements()));
  return session;
}

/** Without adopting the connection. */
export function keptStatementCount(connection: object): number {
  return sessions.get(connection)?.kept ?? 0;
}
