/**
 * Runtime-role connection pools, one per database: the server's tenants database (shared by its
 * pooled and schema tenants) and each dedicated database. At most `maxPools` are open, together
 * sized at most `connectionBudget` connections (each pool counted at its max).
 *
 * A statement or transaction holds its pool (`enter` … `leave`) until it gives its connection
 * back. A pool that does not fit waits while the least recently used (idle first) are evicted: an
 * evicted pool takes no new work and closes once its last user leaves. A wait beyond
 * `connectionWaitMs` fails with TenantPoolBusyError (503); in-flight work never fails.
 * Recency is a use counter, not Map order: reinserting per statement cost ~3 µs per read.
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

/** Longest an evicted pool's room waits for its server sessions to end. */
const sessionEndWaitMs = 1_000;

export interface PoolLimits {
  /** Connections of a server's shared tenants-database pool. */
  poolMax: number;
  /** Connections of each dedicated database's pool. */
  dedicatedPoolMax: number;
  maxPools: number;
  connectionBudget: number;
  /** How long a statement waits for its pool (room for it, then a connection of it): then it fails. */
  connectionWaitMs?: number;
  /** How long a statement of a tenant at its cap of concurrent statements waits its turn on a shared pool. */
  tenantQueueWaitMs?: number;
}

/** A pool held by one statement or transaction: it stays open until that user leaves. */
export interface PoolLease {
  readonly pool: pg.Pool;
  /** Whether each connection is a server session of its own, not one multiplexed by a pooler. */
  readonly ownSessions: boolean;
  /** Admission by tenant, on a pool shared by tenants (a server's tenants database); none on a dedicated one. */
  readonly queue: FairQueue | undefined;
}

interface Entry extends PoolLease, PoolEvent {
  readonly key: string;
  /** Its connections, open or checked out (pg-pool's 'connect' and 'remove'): their kept statements are counted at scrape time. */
  readonly clients: Set<pg.PoolClient>;
  /** Its connections whose server session is still there (each settles when its socket closes). */
  readonly sessions: Set<Promise<void>>;
  lastUse: number;
  users: number;
  /** Takes no new users; closed when the last one leaves. */
  evicted: boolean;
  readonly closed: Promise<void>;
  markClosed(): void;
}

/** A pool being opened: the users who asked for it meanwhile, and the entry they will hold. */
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

/** Errors connections reported, by connection: such a connection is released with its error, so its pool drops it. */
const failures = new WeakMap<pg.ClientBase, Error>();
function recordFailure(this: pg.ClientBase, err: Error) {
  failures.set(this, err);
}

/** The error `client` reported (its session ended: a restart, pg_terminate_backend), if any. */
export function connectionFailure(client: pg.ClientBase): Error | undefined {
  return failures.get(client);
}

const keyOf = (serverId: string, database: string) => `${serverId}/${database}`;
const poolEvent = ({ serverId, database, shared, max }: Entry): PoolEvent => ({ serverId, database, shared, max });

/** One pool as `PoolRegistry.poolStats()` reports it. */
export interface PoolStats extends PoolEvent {
  /** Connections open (in use or idle). */
  connections: number;
  idle: number;
  /** Statements waiting for one of its connections. */
  waiting: number;
  /** Statements of tenants waiting their turn (fair-queue.ts); shared pools only. */
  queued: number;
  /** Evicted: takes no new work, closes when its last user leaves. */
  draining: boolean;
  /** Statements kept prepared on its connections (session-statements.ts). */
  keptStatements: number;
}
const closedError = () => new Error('The tenant router is closed');

export class PoolRegistry {
  /** Pools taking work. */
  readonly #open = new Map<string, Entry>();
  /** Evicted pools, until they are closed. */
  readonly #draining = new Set<Entry>();
  readonly #opening = new Map<string, Opening>();
  /** Pools waiting for room, first come first served. */
  #waiting: Waiter[] = [];
  /** Pools open, draining or granted room, and the connections they are sized for. */
  #pools = 0;
  #connections = 0;
  #uses = 0;
  #closed = false;
  /** Told of every pool opened and evicted, and (by the routing pool) of every statement. */
  readonly observers: RouterObservers;

  constructor(
    private readonly limits: PoolLimits,
    private readonly serverById: (id: string) => Promise<ServerRecord>,
    private readonly log: Log,
    /** Told when a connection to a server failed (a suspicion: server-health.ts probes it). */
    private readonly onUnreachable: (serverId: string) => void = () => undefined,
  ) {
    this.observers = new RouterObservers(log);
  }

  /** A connection to the server failed or was dropped: reported on error paths only. */
  reportUnreachable(serverId: string): void {
    this.onUnreachable(serverId);
  }

  /** Holds the open pool of a database, if there is one: the synchronous path of nearly every statement. */
  enter(serverId: string, database: string): PoolLease | undefined {
    const entry = this.#open.get(keyOf(serverId, database));
    if (entry) {
      entry.users++;
      entry.lastUse = ++this.#uses;
    }
    return entry;
  }

  /** Holds the pool of a database, opening it (once there is room) if need be. */
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

  /** Gives back a pool held by `enter` or `enterOnceOpen`. */
  leave(lease: PoolLease): void {
    const entry = lease as Entry;
    if (--entry.users === 0 && entry.evicted) this.#close(entry);
  }

  /** A database's pool, opened if need be, for inspection; not held, so it may be evicted under the caller. */
  async poolFor(serverId: string, database: string): Promise<pg.Pool> {
    const lease = await this.enterOnceOpen(serverId, database);
    this.leave(lease);
    return lease.pool;
  }

  /** Closes the pool of one database once its users have left, e.g. before the database is dropped. */
  async close(serverId: string, database: string): Promise<void> {
    const key = keyOf(serverId, database);
    const open = this.#open.get(key);
    if (open) this.#evict(open, 'closed');
    await Promise.all([...this.#draining].filter((e) => e.key === key).map((e) => e.closed));
  }

  /** Closes every pool of a server once its users have left, e.g. when its endpoint changed: new statements reconnect from its new row. */
  async closeServer(serverId: string): Promise<void> {
    const keys = [...this.#open.keys(), ...[...this.#draining].map((e) => e.key)].filter((key) => key.startsWith(keyOf(serverId, '')));
    await Promise.all([...new Set(keys)].map((key) => this.close(serverId, key.slice(serverId.length + 1))));
  }

  /** Refuses new work and closes every pool once its users have left. */
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

  /** The pools taking work, for inspection: between statements their connections must carry no tenant context. */
  openPools(): pg.Pool[] {
    return [...this.#open.values()].map((e) => e.pool);
  }

  stats() {
    let connections = 0;
    /** Statements holding or waiting for a slot of a shared pool's queue (fair-queue.ts). */
    const admitted = { inFlight: 0, queued: 0 };
    for (const { pool, queue } of [...this.#open.values(), ...this.#draining]) {
      connections += pool.totalCount;
      const slots = queue?.stats();
      admitted.inFlight += slots?.inFlight ?? 0;
      admitted.queued += slots?.waiting ?? 0;
    }
    return { pools: this.#pools, draining: this.#draining.size, waiting: this.#waiting.length, connections, budgeted: this.#connections, ...admitted };
  }

  /** The connection budget and its use: pools and connections they are sized for, pools waiting for room. */
  budget() {
    const { maxPools, connectionBudget } = this.limits;
    return { maxPools, connectionBudget, pools: this.#pools, budgeted: this.#connections, waitingForRoom: this.#waiting.length };
  }

  /** Each pool open or draining, read now (for a scrape): nothing is counted per statement. */
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
        // A server that drops packets would otherwise hold a connect for minutes, and a saturated
        // pool would queue statements without end; both are answered 503 after this.
        connectionTimeoutMillis: this.limits.connectionWaitMs ?? 0,
      });
      // A connection the server ends (restart, termination: 57P01) emits 'error', which without a
      // listener crashes the process. pg-pool listens only while a connection is idle, and hands a new
      // one out before its user can listen: each keeps a listener of its own, for life.
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
        // Without a runtime endpoint, runtime traffic goes where owner work does (which needs sessions of
        // its own: advisory locks, COPY); a runtime endpoint may be a pooler multiplexing sessions.
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

  /** Resolves once a pool of `max` connections fits: at once, or after others closed to make room. */
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

  /**
   * Evicts the least recently used pools, idle ones first, until the first pool waiting fits once
   * the evicted have closed. Only for the first: evicting for the whole queue at once left no pool
   * open long enough to serve its tenant's next statement.
   */
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
    // pg-pool's end() settles once it has asked its connections to end, before their server
    // sessions are gone: the budget is given back when every socket has closed (or after a second,
    // so a server that stopped answering cannot hold the room).
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
