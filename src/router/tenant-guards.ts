/** Noisy-neighbour guards per tenant (src/settings/tenant-config.ts). */
import { driverCause } from './tenant-sql.js';

export interface TenantGuards {
  /** Null: the database's default. */
  statementTimeoutMs: number | null;
  /** On a shared pool; null: no cap. */
  maxConcurrentStatements: number | null;
  /** Statement time a tenant may use per second on a shared pool, sustained (db-time-budget.ts); null: no limit. */
  dbTimeMsPerSecond: number | null;
}

export const noGuards: TenantGuards = { statementTimeoutMs: null, maxConcurrentStatements: null, dbTimeMsPerSecond: null };

export class TenantBusyError extends Error {
  constructor(
    readonly cap: number,
    readonly waitedMs: number,
  ) {
    super(`The tenant already runs ${cap} statements at once (its plan's cap) and none finished within ${waitedMs} ms`);
    this.name = 'TenantBusyError';
  }
}

export class TenantDbTimeError extends Error {
  constructor(
    readonly msPerSecond: number,
    readonly retryAfterMs: number,
  ) {
    super(`The tenant used its share of database time (${msPerSecond} ms per second); it has more in ${Math.ceil(retryAfterMs)} ms`);
    this.name = 'TenantDbTimeError';
  }
}

const timeoutState = '57014';
// 57014 is also a cancel request's (pg_cancel_backend): only the message tells them apart.
const timeoutMessage = 'canceling statement due to statement timeout';

/** From pg, or wrapped by Prisma's adapter. */
export function statementTimedOut(err: unknown): boolean {
  const direct = err as { code?: unknown; message?: unknown } | undefined;
  if (direct?.code === timeoutState && direct.message === timeoutMessage) return true;
  const cause = driverCause(err) as { code?: unknown; originalCode?: unknown; message?: unknown; originalMessage?: unknown } | undefined;
  return (cause?.originalCode ?? cause?.code) === timeoutState && (cause?.originalMessage ?? cause?.message) === timeoutMessage;
}

export const guardKinds = ['statementTimeout', 'concurrency', 'dbTime'] as const;
export type GuardKind = (typeof guardKinds)[number];
export type GuardCounts = Record<GuardKind, number>;
export type GuardRejectionListener = (tenantId: string, guard: GuardKind) => void;

const noRejections = () => Object.fromEntries(guardKinds.map((kind) => [kind, 0])) as GuardCounts;

/** Per tenant, since the process started. */
export class GuardRejections {
  readonly #counts = new Map<string, GuardCounts>();
  readonly #listeners = new Set<GuardRejectionListener>();

  record(tenantId: string, guard: GuardKind): void {
    let counts = this.#counts.get(tenantId);
    if (!counts) this.#counts.set(tenantId, (counts = noRejections()));
    counts[guard]++;
    for (const listener of this.#listeners) listener(tenantId, guard);
  }

  of(tenantId: string): GuardCounts {
    return { ...(this.#counts.get(tenantId) ?? noRejections()) };
  }

  all(): Map<string, GuardCounts> {
    return new Map([...this.#counts].map(([id, counts]) => [id, { ...counts }]));
  }

  onRejection(listener: GuardRejectionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
