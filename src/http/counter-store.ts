/**
 * Fixed-window counters for the rate limiter and the login throttle: in Redis when configured
 * (shared by every instance; all of a request's counters in one round trip), else in process.
 * A store that fails answers undefined and callers serve the request uncounted (fail open).
 */
import { once } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';

export interface Count {
  count: number;
  /** Milliseconds until this window ends. */
  resetMs: number;
}

export interface CounterStore {
  /** Adds `by` to each key's counter (a window starts on its first hit); the counts after. */
  add(keys: readonly string[], windowMs: number, by?: number): Promise<Count[] | undefined>;
  /**
   * Adds one to each key, atomically: when any goes over its max, the request is taken back from
   * the others (only the budgets that refused it keep it). The counts before taking back.
   */
  take(keys: readonly string[], maxes: readonly number[], windowMs: number): Promise<Count[] | undefined>;
  remove(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

// INCRBY each key, start its window if new, and answer count and time left, pairwise. With maxes
// (ARGV[3..]), a key over its max makes the keys under theirs give the increment back.
const addScript = `
local out, over = {}, false
for i, key in ipairs(KEYS) do
  local n = redis.call('INCRBY', key, ARGV[2])
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, ARGV[1]); ttl = tonumber(ARGV[1]) end
  out[2 * i - 1] = n
  out[2 * i] = ttl
  if ARGV[2 + i] and n > tonumber(ARGV[2 + i]) then over = true end
end
if over then
  for i, key in ipairs(KEYS) do
    if out[2 * i - 1] <= tonumber(ARGV[2 + i]) then redis.call('DECRBY', key, ARGV[2]) end
  end
end
return out`;

class RedisCounters implements CounterStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('strataAdd', { lua: addScript });
  }

  add(keys: readonly string[], windowMs: number, by = 1) {
    return this.run(keys, [windowMs, by]);
  }

  take(keys: readonly string[], maxes: readonly number[], windowMs: number) {
    return this.run(keys, [windowMs, 1, ...maxes]);
  }

  private async run(keys: readonly string[], args: number[]): Promise<Count[] | undefined> {
    try {
      const script = (this.redis as unknown as { strataAdd(n: number, ...args: (string | number)[]): Promise<number[]> }).strataAdd;
      const flat = await script.call(this.redis, keys.length, ...keys.map((k) => this.prefix + k), ...args);
      return keys.map((_, i) => ({ count: flat[2 * i]!, resetMs: flat[2 * i + 1]! }));
    } catch {
      return undefined;
    }
  }

  async remove(keys: readonly string[]) {
    await this.redis.del(...keys.map((k) => this.prefix + k)).catch(() => undefined);
  }

  async close() {
    await this.redis.quit().then(
      () => undefined,
      () => this.redis.disconnect(),
    );
  }
}

/** Per-process counters; past `max` keys the oldest windows go first. */
class MemoryCounters implements CounterStore {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  constructor(private readonly max = 20_000) {}

  async add(keys: readonly string[], windowMs: number, by = 1) {
    return this.count(keys, windowMs, by);
  }

  async take(keys: readonly string[], maxes: readonly number[], windowMs: number) {
    // Synchronous from counting to giving back, so no other request counts in between.
    const counts = this.count(keys, windowMs, 1);
    if (counts.some((c, i) => c.count > maxes[i]!)) {
      keys.forEach((key, i) => {
        if (counts[i]!.count <= maxes[i]!) this.windows.get(key)!.count -= 1;
      });
    }
    return counts;
  }

  private count(keys: readonly string[], windowMs: number, by: number): Count[] {
    const now = Date.now();
    return keys.map((key) => {
      let window = this.windows.get(key);
      if (!window || window.endsAt <= now) {
        this.windows.delete(key);
        window = { count: 0, endsAt: now + windowMs };
        this.windows.set(key, window);
        if (this.windows.size > this.max) this.windows.delete(this.windows.keys().next().value!);
      }
      window.count += by;
      return { count: window.count, resetMs: window.endsAt - now };
    });
  }

  async remove(keys: readonly string[]) {
    for (const key of keys) this.windows.delete(key);
  }

  async close() {}
}

/** commandTimeoutMs: how long a count may wait on Redis before the request goes uncounted. */
export async function counterStore(redisUrl: string | undefined, prefix: string, log: FastifyBaseLogger, commandTimeoutMs = 500): Promise<CounterStore> {
  if (!redisUrl) return new MemoryCounters();
  // No offline queue and a short command timeout: while Redis is away or slow, a count fails at
  // once (and the request is served uncounted) instead of holding the request. ioredis reconnects.
  // Auto-pipelining: the counts of requests arriving in one tick share a write (7x fewer under load).
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: commandTimeoutMs,
    enableAutoPipelining: true,
  });
  redis.on('error', (err) => log.warn({ err }, 'rate limit redis error'));
  // Boot waits for the first connection so counting starts with the first request, but goes on
  // without it: an unreachable Redis must not keep the API from starting.
  await once(redis, 'ready').catch(() => log.warn('rate limit redis unreachable at boot; requests are not counted until it answers'));
  return new RedisCounters(redis, prefix);
}
