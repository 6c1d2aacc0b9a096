/**
 * What the router tells observers (metrics, per-tenant accounting): each statement or Prisma
 * transaction once it gave its connection back, and each pool opened or closed. Pool state is not
 * pushed: observers read it when they need it (`TenantRouter.poolStats()`).
 *
 * With no observer the routing pool checks one array's length per statement and takes no clock
 * reading. Observers run synchronously on the statement's path: they must be cheap, and one that
 * throws is logged and skipped, never failing the statement.
 */
import type { Log } from '../platform/log.js';
import type { Tier } from '../tenants/placement.js';

export interface StatementEvent {
  readonly tenantId: string;
  readonly tier: Tier;
  readonly serverId: string;
  /** `statement`: one routed statement (its context pipelined with it); `transaction`: one of Prisma's transactions. */
  readonly kind: 'statement' | 'transaction';
  /** Time it held a connection, ms; for a transaction, from checkout to release (the app's pauses between its statements included). */
  readonly durationMs: number;
  /** Time before it got a connection, ms: room for its pool, its tenant's turn on a shared pool, a free connection. */
  readonly waitMs: number;
  /** Statements run: 1, or a transaction's (its BEGIN, COMMIT and ROLLBACK not counted). */
  readonly statements: number;
  /** Rows returned by SELECTs (and anything else that is not a write). */
  readonly rowsRead: number;
  /** Rows inserted, updated, deleted, merged or copied. */
  readonly rowsWritten: number;
  readonly failed: boolean;
  /** A statement's context statement ran from its prepared form, not parsed again (false for transactions: BEGIN carries it). */
  readonly contextKept: boolean;
  /** The statement itself ran from a kept prepared statement, skipping parse (session-statements.ts). */
  readonly statementKept: boolean;
}

export interface PoolEvent {
  readonly serverId: string;
  readonly database: string;
  /** A server's tenants database, shared by its pooled and schema tenants (not a dedicated one). */
  readonly shared: boolean;
  /** The connections it is sized for, counted against the connection budget. */
  readonly max: number;
}

export interface PoolClosedEvent extends PoolEvent {
  /** `room`: evicted to make room for another pool; `closed`: closed on request (a dropped database, a changed server, shutdown). */
  readonly reason: 'room' | 'closed';
}

/** Every hook is optional: observe only what you use. */
export interface RouterObserver {
  onStatement?(event: StatementEvent): void;
  onPoolOpened?(event: PoolEvent): void;
  /** A pool stopped taking work; it closes once its last user leaves. */
  onPoolEvicted?(event: PoolClosedEvent): void;
}

const writeCommands = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);

/** Adds a pg result's rows to `rows` as read or written, by its command. */
export function countRows(rows: { read: number; written: number }, result: { command?: string; rowCount: number | null }): void {
  const n = result.rowCount ?? 0;
  if (writeCommands.has(result.command ?? '')) rows.written += n;
  else rows.read += n;
}

/** The observers of one router, any number of them. */
export class RouterObservers {
  /** Replaced, never changed in place: a notification under way keeps the list it began with. */
  list: readonly RouterObserver[] = [];

  constructor(private readonly log: Log) {}

  /** Starts notifying `observer`; returns what stops it. */
  add(observer: RouterObserver): () => void {
    this.list = [...this.list, observer];
    return () => {
      this.list = this.list.filter((o) => o !== observer);
    };
  }

  statement(event: StatementEvent): void {
    this.#notify('onStatement', event);
  }

  poolOpened(event: PoolEvent): void {
    this.#notify('onPoolOpened', event);
  }

  poolEvicted(event: PoolClosedEvent): void {
    this.#notify('onPoolEvicted', event);
  }

  #notify<K extends keyof RouterObserver>(hook: K, event: Parameters<NonNullable<RouterObserver[K]>>[0]) {
    for (const observer of this.list) {
      try {
        (observer[hook] as ((e: typeof event) => void) | undefined)?.call(observer, event);
      } catch (err) {
        this.log.warn({ err, hook }, 'a router observer failed');
      }
    }
  }
}
