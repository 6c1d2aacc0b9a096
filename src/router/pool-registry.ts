/**
 * Runtime-role connection pools, one per database: the server's tenants database (shared by its
 * pooled and schema tenants) and each dedicated database. Kept in an LRU bounded by pool count and
 * by a global connection budget; an evicted pool is closed (in-flight queries finish first).
 * Recency is a use counter rather than Map order: every statement looks its pool up, and
 * reinserting the Map entry each time cost ~3 µs per read (`npm run bench -- router-reads`).
 */
import pg from 'pg';
import type { Log } from '../platform/log.js';
import { connectionConfig, type ServerRecord } from '../servers/server-access.js';

export interface PoolLimits {
  /** Connections of a server's shared tenants-database pool. */
  poolMax: number;
  /** Connections of each dedicated database's pool. */
  dedicatedPoolMax: number;
  maxPools: number;
  connectionBudget: number;
  /** How long a statement waits for a connection of its pool (queued, or being opened): then it fails. */
  connectionWaitMs?: number;
}

interface Entry {
  pool: pg.Pool;
  max: number;
  lastUse: number;
}

export class PoolRegistry {
  readonly #pools = new Map<string, Entry>();
  readonly #ownSessions = new WeakSet<pg.Pool>();
  #uses = 0;
  #closed = false;

  constructor(
    private readonly limits: PoolLimits,
    private readonly serverById: (id: string) => Promise<ServerRecord>,
    private readonly log: Log,
  ) {}

  /** The pool of a database, if open: the synchronous path of every statement after the first. */
  openPool(serverId: string, database: string): pg.Pool | undefined {
    const hit = this.#pools.get(`${serverId}/${database}`);
    if (hit) hit.lastUse = ++this.#uses;
    return hit?.pool;
  }

  async poolFor(serverId: string, database: string): Promise<pg.Pool> {
    if (this.#closed) throw new Error('The tenant router is closed');
    const hit = this.openPool(serverId, database);
    if (hit) return hit;
    const server = await this.serverById(serverId);
    // Another caller may have created it while this one waited for the server record.
    const raced = this.openPool(serverId, database);
    if (raced) return raced;
    const key = `${serverId}/${database}`;
    const max = database === server.tenantsDatabase ? this.limits.poolMax : this.limits.dedicatedPoolMax;
    const pool = new pg.Pool({
      ...connectionConfig(server, 'runtime', database),
      max,
      idleTimeoutMillis: 30_000,
      // A server that drops packets would otherwise hold a connect for minutes, and a saturated
      // pool would queue statements without end; both are answered 503 after this.
      connectionTimeoutMillis: this.limits.connectionWaitMs ?? 0,
    });
    // Without a runtime endpoint, runtime traffic goes where owner work does (which needs sessions of
    // its own: advisory locks, COPY); a runtime endpoint may be a pooler multiplexing sessions.
    if (!server.runtimeHost && !server.runtimePort) this.#ownSessions.add(pool);
    // An idle connection dropped by the server (restart, termination) must not crash the process.
    pool.on('error', (err) => this.log.warn({ err, database }, 'idle tenant connection failed'));
    this.#pools.set(key, { pool, max, lastUse: ++this.#uses });
    this.#evictBeyondLimits(key);
    return pool;
  }

  /** Whether each connection of `pool` is a server session of its own, not one multiplexed by a pooler. */
  ownSessions(pool: pg.Pool): boolean {
    return this.#ownSessions.has(pool);
  }

  /** Closes the pool of one database (in-flight queries finish first), e.g. before it is dropped. */
  async close(serverId: string, database: string): Promise<void> {
    const key = `${serverId}/${database}`;
    const entry = this.#pools.get(key);
    this.#pools.delete(key);
    await entry?.pool.end();
  }

  async closeAll(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(entries.map((e) => e.pool.end()));
  }

  /** The open pools, for inspection: between statements their connections must carry no tenant context. */
  openPools(): pg.Pool[] {
    return [...this.#pools.values()].map((e) => e.pool);
  }

  stats() {
    let connections = 0;
    let budgeted = 0;
    for (const { pool, max } of this.#pools.values()) {
      connections += pool.totalCount;
      budgeted += max;
    }
    return { pools: this.#pools.size, connections, budgeted };
  }

  #evictBeyondLimits(keep: string) {
    let budgeted = 0;
    for (const { max } of this.#pools.values()) budgeted += max;
    const leastRecentFirst = [...this.#pools].sort(([, a], [, b]) => a.lastUse - b.lastUse);
    for (const [key, entry] of leastRecentFirst) {
      if (this.#pools.size <= this.limits.maxPools && budgeted <= this.limits.connectionBudget) break;
      if (key === keep) continue;
      this.#pools.delete(key);
      budgeted -= entry.max;
      this.log.debug({ pool: key }, 'closing least recently used tenant pool');
      entry.pool.end().catch((err: unknown) => this.log.warn({ err, pool: key }, 'closing evicted pool failed'));
    }
  }
}
