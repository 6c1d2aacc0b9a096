/** Events for metrics and accounting, sent on the statement's path: observers must be cheap. */
import type { Log } from '../platform/log.js';
import type { Tier } from '../tenants/placement.js';

export interface StatementEvent {
  readonly tenantId: string;
  readonly tier: Tier;
  readonly serverId: string;
  readonly kind: 'statement' | 'transaction';
  /** Connection held; a transaction's includes the app's pauses. */
  readonly durationMs: number;
  /** For pool room, tenant turn and a free connection. */
  readonly waitMs: number;
  /** 1, or a transaction's, BEGIN/COMMIT/ROLLBACK not counted. */
  readonly statements: number;
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly failed: boolean;
  /** Context statement ran prepared (false for transactions: BEGIN carries it). */
  readonly contextKept: boolean;
  readonly statementKept: boolean;
}

export interface PoolEvent {
  readonly serverId: string;
  readonly database: string;
  readonly shared: boolean;
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
  /** Replaced, not mutated: a notification under way keeps its list. */
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
