/**
 * Fixed-window counters for the rate limiter and login throttle, in Redis when configured, else in
 * process. A failing store answers undefined: callers fail open.
 */
import { once } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';

export interface Count {
  count: number;
  resetMs: number;
}

export interface CounterStore {
  add(keys: readonly string[], windowMs: number, by?: number): Promise<Count[] | undefined>;
  /** Atomic; if any key goes over its max, the others give theirs back (counts are before that). */
  take(keys: readonly string[], maxes: readonly number[], windowMs: number): Promise<Count[] | undefined>;
  remove(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

const addScript = `
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCRBY', key, ARGV[2])
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, ARGV[1]); ttl = tonumber(ARGV[1]) end
  out[2 * i - 1] = n
  out[2 * i] = ttl
end
return out`;

// Takes in arrival order, as if each ran alone. ARGV: window, then per take n and n (KEYS index,
// max) pairs. Answers each take's counts, then each key's time left.
const takeScript = `
local counts, start, ttls, out = {}, {}, {}, {}
for i, key in ipairs(KEYS) do
  counts[i] = tonumber(redis.call('GET', key) or '0')
  start[i] = counts[i]
  ttls[i] = redis.call('PTTL', key)
end
local a = 2
while a <= #ARGV do
  local n, first, over = tonumber(ARGV[a]), #out, false
  for j = 1, n do
    local k, max = tonumber(ARGV[a + 2 * j - 1]), tonumber(ARGV[a + 2 * j])
    counts[k] = counts[k] + 1
    out[first + j] = counts[k]
    if counts[k] > max then over = true end
  end
  if over then
    for j = 1, n do
      local k, max = tonumber(ARGV[a + 2 * j - 1]), tonumber(ARGV[a + 2 * j])
      if out[first + j] <= max then counts[k] = counts[k] - 1 end
    end
  end
  a = a + 1 + 2 * n
end
for i, key in ipairs(KEYS) do
  if ttls[i] < 0 then
    redis.call('SET', key, counts[i], 'PX', ARGV[1])
    ttls[i] = tonumber(ARGV[1])
  elseif counts[i] ~= start[i] then
    redis.call('INCRBY', key, counts[i] - start[i])
  end
  out[#out + 1] = ttls[i]
end
return out`;

interface PendingTake {
  keys: readonly string[];
  maxes: readonly number[];
  settle(counts: Count[] | undefined): void;
}

/** Bounds one script run's arguments. */
const maxBatch = 500;

class RedisCounters implements CounterStore {
  readonly #pending = new Map<number, PendingTake[]>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('strataAdd', { lua: addScript });
    redis.defineCommand('strataTake', { lua: takeScript });
  }

  async add(keys: readonly string[], windowMs: number, by = 1): Promise<Count[] | undefined> {
    try {
      const flat = await this.#script('strataAdd')(keys.length, ...keys.map((k) => this.prefix + k), windowMs, by);
      return keys.map((_, i) => ({ count: flat[2 * i]!, resetMs: flat[2 * i + 1]! }));
    } catch {
      return undefined;
    }
  }

  // One script run per event-loop turn (setImmediate runs after the queued I/O callbacks).
  take(keys: readonly string[], maxes: readonly number[], windowMs: number): Promise<Count[] | undefined> {
    return new Promise((settle) => {
      let batch = this.#pending.get(windowMs);
      if (!batch) {
        this.#pending.set(windowMs, (batch = []));
        setImmediate(() => {
          this.#pending.delete(windowMs);
          for (let i = 0; i < batch!.length; i += maxBatch) void this.#runTakes(batch!.slice(i, i + maxBatch), windowMs);
        });
      }
      batch.push({ keys, maxes, settle });
    });
  }

  async #runTakes(takes: PendingTake[], windowMs: number) {
    const keyIndex = new Map<string, number>();
    const args: (string | number)[] = [windowMs];
    /** 1-based, as Lua counts. */
    const indexes = takes.map((take) => {
      args.push(take.keys.length);
      return take.keys.map((key, i) => {
        let index = keyIndex.get(key);
        if (index === undefined) keyIndex.set(key, (index = keyIndex.size + 1));
        args.push(index, take.maxes[i]!);
        return index;
      });
    });
    const keys = [...keyIndex.keys()];
    let flat: number[];
    try {
      flat = await this.#script('strataTake')(keys.length, ...keys.map((k) => this.prefix + k), ...args);
    } catch {
      for (const take of takes) take.settle(undefined);
      return;
    }
    const ttls = flat.slice(flat.length - keys.length);
    let at = 0;
    takes.forEach((take, i) => take.settle(indexes[i]!.map((index) => ({ count: flat[at++]!, resetMs: ttls[index - 1]! }))));
  }

  #script(name: 'strataAdd' | 'strataTake') {
    const script = (this.redis as unknown as Record<typeof name, (n: number, ...args: (string | number)[]) => Promise<number[]>>)[name];
    return script.bind(this.redis);
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

/** Per process; past `max` keys the oldest windows go first. */
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

/** commandTimeoutMs: a count's wait on Redis before the request goes uncounted. */
export async function counterStore(redisUrl: string | undefined, prefix: string, log: FastifyBaseLogger, commandTimeoutMs = 500): Promise<CounterStore> {
  if (!redisUrl) return new MemoryCounters();
  // Away or slow, Redis fails a count at once rather than hold the request; ioredis reconnects.
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: commandTimeoutMs,
  });
  redis.on('error', (err) => log.warn({ err }, 'rate limit redis error'));
  await once(redis, 'ready').catch(() => log.warn('rate limit redis unreachable at boot; requests are not counted until it answers'));
  return new RedisCounters(redis, prefix);
}
