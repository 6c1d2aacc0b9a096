/**
 * Runtime-role pools within `maxPools` and `connectionBudget`, evicting idle and least recently
 * used ones first. An evicted pool closes once its last user leaves: in-flight work never fails.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { connectionOf } from '../platform/driver-internals.js';
import type { Log } from '../platform/log.js';
import { connectionConfig, type ServerRecord } from '../servers/server-access.js';
import { FairQueue } from './fair-queue.js';
import { type PoolClosedEvent, type PoolEvent, RouterObservers } from './router-observer.js';
import { keptStatementCount } from './session-statements.js';
import { TenantPoolBusyError } from './tenant-sql.js';

const sessionEndWaitMs = 1_000;

export interface PoolLimits {
  poolMax: number;
  dedicatedPoolMax: number;
  maxPools: number;
  connectionBudget: number;
  /** For pool room, then for a connection (TenantPoolBusyError). */
  connectionWaitMs?: number;
  tenantQueueWaitMs?: number;
}

export interface PoolLease {
  readonly pool: pg.Pool;
  readonly ownSessions: boolean;
  /** None on a dedicated pool. */
  readonly queue: FairQueue | undefined;
}

interface Entry extends PoolLease, PoolEvent {
  readonly key: string;
  readonly clients: Set<pg.PoolClient>;
  readonly sessions: Set<Promise<void>>;
  lastUse: number;
  users: number;
  evicted: boolean;
  readonly closed: Promise<void>;
  markClosed(): void;
}

interface Opening {
  users: number;
  entry?: Promise<Entry>;
}

interface Waiter {
  max: number;
  grant(): void;
  refuse(err: Error): void;
  timer?: NodeJS.Timeout;
}

/** Released with the error it reported, so its pool drops it. */
const failures = new WeakMap<pg.ClientBase, Error>();
function recordFailure(this: pg.ClientBase, err: Error) {
  failures.set(this, err);
}

export function connectionFailure(client: pg.ClientBase): Error | undefined {
  return failures.get(client);
}

const keyOf = (serverId: string, database: string) => `${serverId}/${database}`;
const poolEvent = ({ serverId, database, shared, max }: Entry): PoolEvent => ({ serverId, database, shared, max });

export interface PoolStats extends PoolEvent {
  connections: number;
  idle: number;
  waiting: number;
  /** Waiting their tenant's turn (fair-queue.ts). */
  queued: number;
  draining: boolean;
  keptStatements: number;
}
const closedError = () => new Error('The tenant router is closed');

export class PoolRegistry {
  readonly #open = new Map<string, Entry>();
  readonly #draining = new Set<Entry>();
  readonly #opening = new Map<string, Opening>();
  #waiting: Waiter[] = [];
  /** Open, draining or granted room; `#connections` sums their `max`. */
  #pools = 0;
  #connections = 0;
  #uses = 0;
  #closed = false;
  readonly observers: RouterObservers;

  constructor(
    private readonly limits: PoolLimits,
    private readonly serverById: (id: string) => Promise<ServerRecord>,
    private readonly log: Log,
    /** A suspicion only: server-health.ts probes the server. */
    private readonly onUnreachable: (serverId: string) => void = () => undefined,
  ) {
    this.observers = new RouterObservers(log);
  }

  reportUnreachable(serverId: string): void {
    this.onUnreachable(serverId);
  }

  enter(serverId: string, database: string): PoolLease | undefined {
    const entry = this.#open.get(keyOf(serverId, database));
    if (entry) {
      entry.users++;
      entry.lastUse = ++this.#uses;
    }
    return entry;
  }

  enterOnceOpen(serverId: string, database: string): Promise<PoolLease> {
    if (this.#closed) return Promise.reject(closedError());
    const open = this.enter(serverId, database);
    if (open) return Promise.resolve(open);
    const key = keyOf(serverId, database);
    let opening = this.#opening.get(key);
    if (!opening) {
      this.#opening.set(key, (opening = { users: 0 }));
      opening.entry = this.#openPool(key, serverId, database, opening);
    }
    opening.users++;
    return opening.entry!;
  }

  leave(lease: PoolLease): void {
    const entry = lease as Entry;
    if (--entry.users === 0 && entry.evicted) this.#close(entry);
  }

  /** For inspection: not held, so it may be evicted under the caller. */
  async poolFor(serverId: string, database: string): Promise<pg.Pool> {
    const lease = await this.enterOnceOpen(serverId, database);
    this.leave(lease);
    return lease.pool;
  }

  /** Resolves once its users have left. */
  async close(serverId: string, database: string): Promise<void> {
    const key = keyOf(serverId, database);
    const open = this.#open.get(key);
    if (open) this.#evict(open, 'closed');
    await Promise.all([...this.#draining].filter((e) => e.key === key).map((e) => e.closed));
  }

  async closeServer(serverId: string): Promise<void> {
    const keys = [...this.#open.keys(), ...[...this.#draining].map((e) => e.key)].filter((key) => key.startsWith(keyOf(serverId, '')));
    await Promise.all([...new Set(keys)].map((key) => this.close(serverId, key.slice(serverId.length + 1))));
  }

  async closeAll(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.refuse(closedError());
    }
    for (const entry of [...this.#open.values()]) this.#evict(entry, 'closed');
    for (const entry of this.#draining) entry.queue?.refuseAll(closedError());
    await Promise.all([...this.#draining].map((e) => e.closed));
  }

  /** For inspection: idle, their connections carry no tenant context. */
  openPools(): pg.Pool[] {
    return [...this.#open.values()].map((e) => e.pool);
  }

  stats() {
    let connections = 0;
    const admitted = { inFlight: 0, queued: 0 };
    for (const { pool, queue } of [...this.#open.values(), ...this.#draining]) {
      connections += pool.totalCount;
      const slots = queue?.stats();
      admitted.inFlight += slots?.inFlight ?? 0;
      admitted.queued += slots?.waiting ?? 0;
    }
    return { pools: this.#pools, draining: this.#draining.size, waiting: this.#waiting.length, connections, budgeted: this.#connections, ...admitted };
  }

  budget() {
    const { maxPools, connectionBudget } = this.limits;
    return { maxPools, connectionBudget, pools: this.#pools, budgeted: this.#connections, waitingForRoom: this.#waiting.length };
  }

  poolStats(): PoolStats[] {
    return [...this.#open.values(), ...this.#draining].map((entry) => {
      let keptStatements = 0;
      for (const client of entry.clients) keptStatements += keptStatementCount(connectionOf(client));
      return {
        ...poolEvent(entry),
        connections: entry.pool.totalCount,
        idle: entry.pool.idleCount,
        waiting: entry.pool.waitingCount,
        queued: entry.queue?.stats().waiting ?? 0,
        draining: entry.evicted,
        keptStatements,
      };
    });
  }

  async #openPool(key: string, serverId: string, database: string, opening: Opening): Promise<Entry> {
    try {
      const server = await this.serverById(serverId);
      if (this.#closed) throw closedError();
      // A pool larger than the whole budget could never open.
      const shared = database === server.tenantsDatabase;
      const max = Math.min(shared ? this.limits.poolMax : this.limits.dedicatedPoolMax, this.limits.connectionBudget);
      await this.#room(max);
      if (this.#closed) {
        this.#giveBack(max);
        throw closedError();
      }
      const pool = new pg.Pool({
        ...connectionConfig(server, 'runtime', database),
        max,
        idleTimeoutMillis: 30_000,
        // Else a dead server holds a connect for minutes, a saturated pool queues for ever.
        connectionTimeoutMillis: this.limits.connectionWaitMs ?? 0,
      });
      // pg-pool hears 'error' only on idle connections; unheard (e.g. 57P01), it kills the process.
      const clients = new Set<pg.PoolClient>();
      const sessions = new Set<Promise<void>>();
      pool.on('connect', (client) => {
        client.on('error', recordFailure);
        clients.add(client);
        const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
        sessions.add(ended);
        void ended.then(() => sessions.delete(ended));
      });
      pool.on('remove', (client) => clients.delete(client));
      // Not `err` itself: pg-pool attaches the whole client to it.
      pool.on('error', (err) => {
        this.log.warn({ code: (err as { code?: string }).code, message: err.message, database }, 'idle tenant connection failed');
        this.onUnreachable(serverId);
      });
      let markClosed!: () => void;
      const closed = new Promise<void>((resolve) => (markClosed = resolve));
      const entry: Entry = {
        key,
        serverId,
        database,
        shared,
        pool,
        max,
        clients,
        sessions,
        // A runtime endpoint may be a pooler; the owner's direct one is not.
        ownSessions: !server.runtimeHost && !server.runtimePort,
        queue: shared ? new FairQueue(max, this.limits.tenantQueueWaitMs ?? this.limits.connectionWaitMs ?? 2_000) : undefined,
        lastUse: ++this.#uses,
        users: opening.users,
        evicted: false,
        closed,
        markClosed,
      };
      this.#open.set(key, entry);
      this.observers.poolOpened(poolEvent(entry));
      return entry;
    } finally {
      this.#opening.delete(key);
    }
  }

  #room(max: number): Promise<void> {
    if (!this.#waiting.length && this.#fits(max)) {
      this.#take(max);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { max, grant: resolve, refuse: reject };
      const waitMs = this.limits.connectionWaitMs;
      if (waitMs) {
        waiter.timer = setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
          reject(new TenantPoolBusyError(new Error(`no room for another tenant pool within ${waitMs} ms`)));
          // The pools behind it may fit where it did not.
          this.#admit();
        }, waitMs);
      }
      this.#waiting.push(waiter);
      this.#evictForWaiting();
    });
  }

  #fits(max: number): boolean {
    return this.#pools < this.limits.maxPools && this.#connections + max <= this.limits.connectionBudget;
  }

  #take(max: number) {
    this.#pools++;
    this.#connections += max;
  }

  #giveBack(max: number) {
    this.#pools--;
    this.#connections -= max;
    this.#admit();
  }

  #admit() {
    while (this.#waiting.length && this.#fits(this.#waiting[0]!.max)) {
      const waiter = this.#waiting.shift()!;
      clearTimeout(waiter.timer);
      this.#take(waiter.max);
      waiter.grant();
    }
    this.#evictForWaiting();
  }

  /** For the first waiter only: evicting for all left no pool open long enough to serve. */
  #evictForWaiting() {
    const next = this.#waiting[0];
    if (!next) return;
    let pools = this.#pools - this.#draining.size;
    let connections = this.#connections;
    for (const { max } of this.#draining) connections -= max;
    const fits = () => pools < this.limits.maxPools && connections + next.max <= this.limits.connectionBudget;
    if (fits()) return;
    const candidates = [...this.#open.values()].sort((a, b) => Number(a.users > 0) - Number(b.users > 0) || a.lastUse - b.lastUse);
    for (const entry of candidates) {
      this.#evict(entry, 'room');
      pools--;
      connections -= entry.max;
      if (fits()) return;
    }
  }

  #evict(entry: Entry, reason: PoolClosedEvent['reason']) {
    this.#open.delete(entry.key);
    entry.evicted = true;
    this.#draining.add(entry);
    this.observers.poolEvicted({ ...poolEvent(entry), reason });
    if (entry.users === 0) this.#close(entry);
  }

  #close(entry: Entry) {
    this.log.debug({ pool: entry.key }, 'closing evicted tenant pool');
    // pg-pool's end() settles before the sockets close: wait for them, but at most sessionEndWaitMs.
    entry.pool
      .end()
      .catch((err: unknown) => this.log.warn({ err, pool: entry.key }, 'closing evicted pool failed'))
      .then(() => Promise.race([Promise.all(entry.sessions), sleep(sessionEndWaitMs, undefined, { ref: false })]))
      .finally(() => {
        this.#draining.delete(entry);
        this.#giveBack(entry.max);
        entry.markClosed();
      });
  }
}
