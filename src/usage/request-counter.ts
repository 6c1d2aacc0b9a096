/**
 * Per-tenant request counts, kept in memory and flushed in one statement for all tenants: the
 * request path pays a Map increment, never a round trip. A crash loses one interval's counts.
 */
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { Log } from '../platform/log.js';

export class RequestCounter {
  #counts = new Map<string, number>();
  #flushing: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly catalog: CatalogClient,
    private readonly log: Log,
    intervalMs: number,
  ) {
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  count(tenantId: string): void {
    this.#counts.set(tenantId, (this.#counts.get(tenantId) ?? 0) + 1);
  }

  /** Into today's (UTC) totals; flushes run one at a time. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  async #write() {
    if (this.#counts.size === 0) return;
    const counts = this.#counts;
    this.#counts = new Map();
    try {
      // Tenants purged meanwhile have no catalog row: the join leaves their counts out.
      await this.catalog.$executeRaw`
        INSERT INTO tenant_usage (tenant_id, day, requests)
        SELECT c.id, (now() AT TIME ZONE 'UTC')::date, c.n
          FROM unnest(${[...counts.keys()]}::uuid[], ${[...counts.values()]}::bigint[]) AS c(id, n)
          JOIN tenants t ON t.id = c.id
        ON CONFLICT (tenant_id, day) DO UPDATE SET requests = tenant_usage.requests + EXCLUDED.requests`;
    } catch (err) {
      // Kept for the next flush rather than lost.
      for (const [id, n] of counts) this.#counts.set(id, (this.#counts.get(id) ?? 0) + n);
      this.log.warn({ err }, 'flushing request counts failed; retrying at the next interval');
    }
  }
}
