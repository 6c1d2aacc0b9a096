/**
 * Each tenant's share of statement time on shared pools, as a token bucket in milliseconds: it
 * refills at the tenant's `dbTimeMsPerSecond` and holds one second's worth, so a tenant may burst
 * for that long and is then held to its rate. Statements are charged when they end; one that
 * starts with credit left may overdraw it, which the concurrency cap and statement timeout bound.
 * Per instance, like the fair queue (docs/architecture.md#noisy-neighbour-guards).
 */
interface Bucket {
  creditMs: number;
  at: number;
  msPerSecond: number;
}

const sweepEveryMs = 60_000;

export class DbTimeBudget {
  readonly #buckets = new Map<string, Bucket>();
  #sweepAt = 0;

  /** Milliseconds until the tenant has credit again; 0: it may run now. */
  owedMs(tenantId: string, msPerSecond: number, now = performance.now()): number {
    const bucket = this.#buckets.get(tenantId);
    if (!bucket) return 0;
    const creditMs = refilled(bucket, msPerSecond, now);
    if (creditMs >= msPerSecond) this.#buckets.delete(tenantId);
    return creditMs >= 0 ? 0 : (-creditMs * 1000) / msPerSecond;
  }

  charge(tenantId: string, msPerSecond: number, statementMs: number, now = performance.now()): void {
    const bucket = this.#buckets.get(tenantId);
    const creditMs = bucket ? refilled(bucket, msPerSecond, now) : msPerSecond;
    this.#buckets.set(tenantId, { creditMs: creditMs - statementMs, at: now, msPerSecond });
    if (now >= this.#sweepAt) this.#sweep(now);
  }

  /** Buckets kept: tenants with less than a full second's credit. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Full buckets of tenants that went quiet hold nothing a missing one would not. */
  #sweep(now: number) {
    this.#sweepAt = now + sweepEveryMs;
    for (const [tenantId, bucket] of this.#buckets) {
      if (refilled(bucket, bucket.msPerSecond, now) >= bucket.msPerSecond) this.#buckets.delete(tenantId);
    }
  }
}

function refilled(bucket: Bucket, msPerSecond: number, now: number): number {
  return Math.min(msPerSecond, bucket.creditMs + ((now - bucket.at) * msPerSecond) / 1000);
}
