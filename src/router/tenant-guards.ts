/**
 * Noisy-neighbour guards, per tenant, from its plan and config (src/settings/tenant-config.ts):
 * - a statement timeout, set transaction-locally by the tenant context statement itself
 *   (scoped-query.ts, tenant-context.ts), so it costs no round trip;
 * - a cap on its concurrent statements on a shared pool, waiting its turn beyond it (fair-queue.ts).
 * Refusals are counted per tenant and announced to listeners (GuardRejections).
 */
import { driverCause } from './tenant-sql.js';

export interface TenantGuards {
  /** Longest a statement may run, ms (null: the database's default). */
  statementTimeoutMs: number | null;
  /** Most statements or transactions at once on a pool shared with other tenants (null: no cap). */
  maxConcurrentStatements: number | null;
}

export const noGuards: TenantGuards = { statementTimeoutMs: null, maxConcurrentStatements: null };

/** The tenant was at its cap of concurrent statements for longer than it may wait. */
export class TenantBusyError extends Error {
  constructor(
    readonly cap: number,
    readonly waitedMs: number,
  ) {
    super(`The tenant already runs ${cap} statements at once (its plan's cap) and none finished within ${waitedMs} ms`);
    this.name = 'TenantBusyError';
  }
}

const timeoutState = '57014';
// 57014 also reports a cancel request (pg_cancel_backend); only its message tells the timeout apart.
const timeoutMessage = 'canceling statement due to statement timeout';

/** True for a statement PostgreSQL cancelled at statement_timeout: from pg, or wrapped by Prisma's adapter. */
export function statementTimedOut(err: unknown): boolean {
  const direct = err as { code?: unknown; message?: unknown } | undefined;
  if (direct?.code === timeoutState && direct.message === timeoutMessage) return true;
  const cause = driverCause(err) as { code?: unknown; originalCode?: unknown; message?: unknown; originalMessage?: unknown } | undefined;
  return (cause?.originalCode ?? cause?.code) === timeoutState && (cause?.originalMessage ?? cause?.message) === timeoutMessage;
}

export const guardKinds = ['statementTimeout', 'concurrency'] as const;
export type GuardKind = (typeof guardKinds)[number];
export type GuardCounts = Record<GuardKind, number>;
export type GuardRejectionListener = (tenantId: string, guard: GuardKind) => void;

/** How often each tenant's statements were refused by a guard, since the process started. */
export class GuardRejections {
  readonly #counts = new Map<string, GuardCounts>();
  readonly #listeners = new Set<GuardRejectionListener>();

  record(tenantId: string, guard: GuardKind): void {
    let counts = this.#counts.get(tenantId);
    if (!counts) this.#counts.set(tenantId, (counts = { statementTimeout: 0, concurrency: 0 }));
    counts[guard]++;
    for (const listener of this.#listeners) listener(tenantId, guard);
  }

  /** The counts of one tenant (zeros if it was never refused). */
  of(tenantId: string): GuardCounts {
    return { ...(this.#counts.get(tenantId) ?? { statementTimeout: 0, concurrency: 0 }) };
  }

  /** Every tenant refused at least once, with its counts. */
  all(): Map<string, GuardCounts> {
    return new Map([...this.#counts].map(([id, counts]) => [id, { ...counts }]));
  }

  /** Calls `listener` on every refusal from now on; returns what stops it. */
  onRejection(listener: GuardRejectionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
