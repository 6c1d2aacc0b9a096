/** Catalog changes over Redis pub/sub. On reconnect, listeners drop all ('*'): some may be lost. */
import { Redis } from 'ioredis';
import type { Log } from '../platform/log.js';

export type TenantChangeListener = (tenantId: string | '*') => void;
/** `userKey` is `<tenant id>/<user id>`, or '*' for every user. */
export type UserChangeListener = (userKey: string | '*') => void;
export type ServerChangeListener = (serverId: string | '*') => void;

export class CatalogEvents {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #listeners = new Set<TenantChangeListener>();
  readonly #userListeners = new Set<UserChangeListener>();
  readonly #serverListeners = new Set<ServerChangeListener>();
  /** Per installation: installations sharing a Redis must not hear each other. */
  private readonly channel: string;
  readonly #userChannel: string;
  readonly #serverChannel: string;

  private constructor(
    url: string,
    private readonly log: Log,
    installation: string,
  ) {
    this.channel = `strata:${installation}:catalog:tenant-changed`;
    this.#userChannel = `strata:${installation}:catalog:user-changed`;
    this.#serverChannel = `strata:${installation}:catalog:server-changed`;
    const options = { maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: true } as const;
    this.#publisher = new Redis(url, { ...options, enableOfflineQueue: true });
    this.#subscriber = new Redis(url, options);
    this.#publisher.on('error', (err) => log.warn({ err }, 'redis publisher error'));
    this.#subscriber.on('error', (err) => log.warn({ err }, 'redis subscriber error'));
    this.#subscriber.on('message', (channel, key: string) => {
      if (channel === this.#userChannel) this.#emitUser(key);
      else if (channel === this.#serverChannel) this.#emitServer(key);
      else this.#emit(key);
    });
    let connectedBefore = false;
    this.#subscriber.on('ready', () => {
      if (connectedBefore) {
        this.#emit('*');
        this.#emitUser('*');
        this.#emitServer('*');
      }
      connectedBefore = true;
    });
  }

  static async connect(url: string, log: Log, installation: string): Promise<CatalogEvents> {
    const events = new CatalogEvents(url, log, installation);
    await Promise.all([events.#publisher.connect(), events.#subscriber.connect()]);
    await events.#subscriber.subscribe(events.channel, events.#userChannel, events.#serverChannel);
    return events;
  }

  get connected(): boolean {
    return this.#publisher.status === 'ready';
  }

  get listening(): boolean {
    return this.#subscriber.status === 'ready';
  }

  onTenantChanged(listener: TenantChangeListener): void {
    this.#listeners.add(listener);
  }

  onUserChanged(listener: UserChangeListener): void {
    this.#userListeners.add(listener);
  }

  /** The change is already in the catalog, so a Redis failure is logged, not thrown. */
  async publishTenantChanged(tenantId: string): Promise<void> {
    await this.#publisher.publish(this.channel, tenantId).catch((err: unknown) => {
      this.log.warn({ err, tenantId }, 'could not announce a tenant change over Redis; other instances rely on their cache TTL');
    });
  }

  /** For a user whose tokens' standing changed. */
  async publishUserChanged(tenantId: string, userId: string): Promise<void> {
    await this.#publisher.publish(this.#userChannel, `${tenantId}/${userId}`).catch((err: unknown) => {
      this.log.warn({ err, tenantId, userId }, 'could not announce a user change over Redis; other instances rely on their cache TTL');
    });
  }

  onServerChanged(listener: ServerChangeListener): void {
    this.#serverListeners.add(listener);
  }

  async publishServerChanged(serverId: string): Promise<void> {
    await this.#publisher.publish(this.#serverChannel, serverId).catch((err: unknown) => {
      this.log.warn({ err, serverId }, 'could not announce a server change over Redis; other instances rely on their periodic check');
    });
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#userListeners.clear();
    this.#serverListeners.clear();
    this.#subscriber.disconnect();
    await this.#publisher.quit().catch(() => this.#publisher.disconnect());
  }

  #emit(tenantId: string) {
    for (const listener of this.#listeners) listener(tenantId);
  }

  #emitUser(userKey: string) {
    for (const listener of this.#userListeners) listener(userKey);
  }

  #emitServer(serverId: string) {
    for (const listener of this.#serverListeners) listener(serverId);
  }
}
