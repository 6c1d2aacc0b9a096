/**
 * What each tenant costs, in fixed windows aligned to the epoch so every instance agrees. Kept in
 * memory (no round trip per event), added to the catalog's `tenant_load` in one statement per flush.
 * A crash loses at most one interval: load is for insight, not billing.
 */
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { Log } from '../platform/log.js';
import type { LoadFigures } from './load-totals.js';

/** One more bucket counts the slower ones. */
export const latencyBoundsMs = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;

export interface LoadOptions {
  windowMs: number;
  flushMs: number;
  retentionMs: number;
}

interface Tally extends LoadFigures {
  windowStart: number;
}

const newTally = (windowStart: number): Tally => ({
  windowStart,
  requests: 0,
  requestMs: 0,
  latency: new Array<number>(latencyBoundsMs.length + 1).fill(0),
  dbTimeMs: 0,
  statements: 0,
  rowsWritten: 0,
  guardRejections: 0,
  rowsTotal: null,
  storageBytes: null,
});

function addTo(into: Tally, from: Tally) {
  into.requests += from.requests;
  into.requestMs += from.requestMs;
  from.latency.forEach((n, i) => (into.latency[i]! += n));
  into.dbTimeMs += from.dbTimeMs;
  into.statements += from.statements;
  into.rowsWritten += from.rowsWritten;
  into.guardRejections += from.guardRejections;
  into.rowsTotal = from.rowsTotal ?? into.rowsTotal;
  into.storageBytes = from.storageBytes ?? into.storageBytes;
}

export class TenantLoad {
  #current = new Map<string, Tally>();
  /** Until flushed. */
  #ended: [string, Tally][] = [];
  /** Tenants served or that wrote rows since their footprint was last measured. */
  #unsampled = new Set<string>();
  #flushing: Promise<void> = Promise.resolve();
  #prunedAt = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly catalog: CatalogClient,
    private readonly log: Log,
    readonly options: LoadOptions,
  ) {
    this.#timer = setInterval(() => void this.flush(), options.flushMs);
    this.#timer.unref();
  }

  request(tenantId: string, durationMs: number): void {
    const tally = this.#tally(tenantId);
    tally.requests++;
    tally.requestMs += durationMs;
    let bucket = 0;
    while (bucket < latencyBoundsMs.length && durationMs > latencyBoundsMs[bucket]!) bucket++;
    tally.latency[bucket]!++;
    this.#unsampled.add(tenantId);
  }

  /** From a router observer (router-observer.ts). */
  statements(tenantId: string, durationMs: number, statements: number, rowsWritten: number): void {
    const tally = this.#tally(tenantId);
    tally.statements += statements;
    tally.dbTimeMs += durationMs;
    if (rowsWritten > 0) {
      tally.rowsWritten += rowsWritten;
      this.#unsampled.add(tenantId);
    }
  }

  guardRejection(tenantId: string): void {
    this.#tally(tenantId).guardRejections++;
  }

  /** As just measured (footprint.ts). */
  footprint(tenantId: string, rowsTotal: number, storageBytes: number): void {
    const tally = this.#tally(tenantId);
    tally.rowsTotal = rowsTotal;
    tally.storageBytes = storageBytes;
  }

  /** Forgets them. */
  takeUnsampled(): string[] {
    const ids = [...this.#unsampled];
    this.#unsampled.clear();
    return ids;
  }

  /** Flushes run one at a time. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #tally(tenantId: string): Tally {
    const now = Date.now();
    const windowStart = now - (now % this.options.windowMs);
    let tally = this.#current.get(tenantId);
    if (tally?.windowStart !== windowStart) {
      if (tally) this.#ended.push([tenantId, tally]);
      this.#current.set(tenantId, (tally = newTally(windowStart)));
    }
    return tally;
  }

  /** One per tenant and window. */
  #take(): Map<string, [string, Tally]> {
    const taken = new Map<string, [string, Tally]>();
    for (const [id, tally] of [...this.#ended, ...this.#current]) {
      const key = `${id} ${tally.windowStart}`;
      const seen = taken.get(key);
      if (seen) addTo(seen[1], tally);
      else taken.set(key, [id, tally]);
    }
    this.#ended = [];
    this.#current = new Map();
    return taken;
  }

  async #write() {
    await this.#prune();
    if (this.#current.size === 0 && this.#ended.length === 0) return;
    const rows = [...this.#take().values()];
    const column = <T>(pick: (tally: Tally) => T) => rows.map(([, tally]) => pick(tally));
    try {
      // Tenants purged meanwhile have no catalog row: the join leaves their windows out.
      await this.catalog.$executeRaw`
        INSERT INTO tenant_load AS l (tenant_id, window_start, requests, request_ms, latency_buckets, db_time_ms, statements,
                                      rows_written, guard_rejections, rows_total, storage_bytes)
        SELECT c.id, to_timestamp(c.start / 1000.0), c.requests, c.request_ms, c.latency::bigint[], c.db_ms, c.statements,
               c.rows_written, c.rejections, c.rows_total, c.storage
          FROM unnest(${rows.map(([id]) => id)}::uuid[], ${column((t) => t.windowStart)}::float8[], ${column((t) => t.requests)}::bigint[],
                      ${column((t) => t.requestMs)}::float8[], ${column((t) => `{${t.latency.join(',')}}`)}::text[],
                      ${column((t) => t.dbTimeMs)}::float8[], ${column((t) => t.statements)}::bigint[], ${column((t) => t.rowsWritten)}::bigint[],
                      ${column((t) => t.guardRejections)}::bigint[], ${column((t) => t.rowsTotal)}::bigint[], ${column((t) => t.storageBytes)}::bigint[])
               AS c(id, start, requests, request_ms, latency, db_ms, statements, rows_written, rejections, rows_total, storage)
          JOIN tenants t ON t.id = c.id
        ON CONFLICT (tenant_id, window_start) DO UPDATE SET
          requests = l.requests + EXCLUDED.requests,
          request_ms = l.request_ms + EXCLUDED.request_ms,
          latency_buckets = ARRAY(SELECT coalesce(a, 0) + coalesce(b, 0)
                                    FROM unnest(l.latency_buckets, EXCLUDED.latency_buckets) WITH ORDINALITY AS u(a, b, i) ORDER BY i),
          db_time_ms = l.db_time_ms + EXCLUDED.db_time_ms,
          statements = l.statements + EXCLUDED.statements,
          rows_written = l.rows_written + EXCLUDED.rows_written,
          guard_rejections = l.guard_rejections + EXCLUDED.guard_rejections,
          rows_total = coalesce(EXCLUDED.rows_total, l.rows_total),
          storage_bytes = coalesce(EXCLUDED.storage_bytes, l.storage_bytes)`;
    } catch (err) {
      // Kept for the next flush rather than lost.
      this.#ended.push(...rows);
      this.log.warn({ err }, 'flushing tenant load failed; retrying at the next interval');
    }
  }

  /** At most once a minute (a tenth of the retention, if shorter). */
  async #prune() {
    const now = Date.now();
    if (now - this.#prunedAt < Math.min(this.options.retentionMs / 10, 60_000)) return;
    this.#prunedAt = now;
    await this.catalog.$executeRaw`DELETE FROM tenant_load WHERE window_start < now() - make_interval(secs => ${this.options.retentionMs / 1000})`.catch(
      (err: unknown) => this.log.warn({ err }, 'pruning old tenant load failed'),
    );
  }
}
