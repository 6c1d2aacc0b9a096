/**
 * What the router tells observers (metrics, accounting). They run synchronously on the statement's
 * path: they must be cheap, and one that throws is logged and skipped, never failing the statement.
 */
import type { Log } from '../platform/log.js';
import type { Tier } from '../tenants/placement.js';

export interface StatementEvent {
  readonly tenantId: string;
  readonly tier: Tier;
  readonly serverId: string;
  readonly kind: 'statement' | 'transaction';
  /** Time it held a connection, ms; a transaction's includes the app's pauses between statements. */
  readonly durationMs: number;
  /** Ms before it got a connection (pool room, tenant turn, free connection). */
  readonly waitMs: number;
  /** 1, or a transaction's (BEGIN, COMMIT and ROLLBACK not counted). */
  readonly statements: number;
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly failed: boolean;
  /** Its context statement ran prepared (false for transactions: BEGIN carries it). */
  readonly contextKept: boolean;
  readonly statementKept: boolean;
}

export interface PoolEvent {
  readonly serverId: string;
  readonly database: string;
  /** A server's tenants database, not a dedicated one. */
  readonly shared: boolean;
  /** Counted against the connection budget. */
  readonly max: number;
}

export interface PoolClosedEvent extends PoolEvent {
  /** `room`: evicted for another pool; `closed`: on request. */
  readonly reason: 'room' | 'closed';
}

export interface RouterObserver {
  onStatement?(event: StatementEvent): void;
  onPoolOpened?(event: PoolEvent): void;
  onPoolEvicted?(event: PoolClosedEvent): void;
}

const writeCommands = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);

export function countRows(rows: { read: number; written: number }, result: { command?: string; rowCount: number | null }): void {
  const n = result.rowCount ?? 0;
  if (writeCommands.has(result.command ?? '')) rows.written += n;
  else rows.read += n;
}

export class RouterObservers {
  /** Replaced, never changed in place: a notification under way keeps the list it began with. */
  list: readonly RouterObserver[] = [];

  constructor(private readonly log: Log) {}

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
