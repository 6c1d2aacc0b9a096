/**
 * Tells every API instance that a tenant's catalog entry changed (suspension, tier move, config),
 * over Redis pub/sub. A subscriber that lost its connection may have missed messages, so on
 * reconnect it asks its listeners to drop everything they cached.
 */
import { Redis } from 'ioredis';
import type { Log } from '../platform/log.js';


export type TenantChangeListener = (tenantId: string | '*') => void;

export class CatalogEvents {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #listeners = new Set<TenantChangeListener>();

  private constructor(
    url: string,
    private readonly log: Log,
    /** Per installation (database prefix): installations sharing a Redis must not hear each other. */
    private readonly channel: string,
  ) {
    const options = { maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: true } as const;
    this.#publisher = new Redis(url, { ...options, enableOfflineQueue: true });
    this.#subscriber = new Redis(url, options);
    this.#publisher.on('error', (err) => log.warn({ err }, 'redis publisher error'));
    this.#subscriber.on('error', (err) => log.warn({ err }, 'redis subscriber error'));
    this.#subscriber.on('message', (_channel, tenantId: string) => this.#emit(tenantId));
    let connectedBefore = false;
    this.#subscriber.on('ready', () => {
      if (connectedBefore) this.#emit('*');
      connectedBefore = true;
    });
  }

  static async connect(url: string, log: Log, installation: string): Promise<CatalogEvents> {
    const events = new CatalogEvents(url, log, `strata:${installation}:catalog:tenant-changed`);
    await Promise.all([events.#publisher.connect(), events.#subscriber.connect()]);
    await events.#subscriber.subscribe(events.channel);
    return events;
  }

  /** False while the subscription is down: changes announced meanwhile are not heard. */
  get listening(): boolean {
    return this.#subscriber.status === 'ready';
  }

  onTenantChanged(listener: TenantChangeListener): void {
    this.#listeners.add(listener);
  }

  /**
   * Every instance's listeners hear it, this one's included (through its own subscription). The
   * change is already in the catalog when this is called, so an unreachable Redis is logged, not
   * thrown: failing the caller would not undo the change, only hide it (an admin's suspension
   * answered 500, its audit entry never written). Instances that miss the news still drop the entry
   * by TTL: the short one while their own subscription is down, at most 30 s otherwise.
   */
  async publishTenantChanged(tenantId: string): Promise<void> {
    await this.#publisher.publish(this.channel, tenantId).catch((err: unknown) => {
      this.log.warn({ err, tenantId }, 'could not announce a tenant change over Redis; other instances rely on their cache TTL');
    });
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#subscriber.disconnect();
    await this.#publisher.quit().catch(() => this.#publisher.disconnect());
  }

  #emit(tenantId: string) {
    for (const listener of this.#listeners) listener(tenantId);
  }
}
