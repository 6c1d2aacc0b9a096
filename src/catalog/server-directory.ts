/** Servers cached until a change is announced or `updated_at` moves; listeners hear each drop. */
import type { CatalogClient, DatabaseServer } from './catalog-client.js';
import type { CatalogEvents } from './catalog-events.js';
import { AppError, problems } from '../http/problems.js';

export class UnknownServerError extends AppError {
  constructor(what: string) {
    const message = `No database server ${what} in the catalog`;
    super(problems.invalidRequest, 'Some fields are invalid', [{ field: 'body.server', message }]);
    this.message = message;
    this.name = 'UnknownServerError';
  }
}

export type ServerChangeListener = (serverId: string) => void;

export class ServerDirectory {
  readonly #cache = new Map<string, Promise<DatabaseServer>>();
  readonly #listeners = new Set<ServerChangeListener>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly catalog: CatalogClient,
    private readonly ttl: { announced: number; unannounced: number } = { announced: 30_000, unannounced: 1000 },
    private readonly events?: CatalogEvents,
  ) {
    events?.onServerChanged((serverId) => this.#drop(serverId));
    this.#schedule();
  }

  byId(id: string): Promise<DatabaseServer> {
    const hit = this.#cache.get(id);
    if (hit) return hit;
    const row = this.catalog.databaseServer.findUnique({ where: { id } }).then((found) => {
      if (!found) throw new UnknownServerError(`with id ${id}`);
      return found;
    });
    row.catch(() => {
      if (this.#cache.get(id) === row) this.#cache.delete(id);
    });
    this.#cache.set(id, row);
    return row;
  }

  async changed(serverId: string): Promise<void> {
    this.#drop(serverId);
    await this.events?.publishServerChanged(serverId);
  }

  onChange(listener: ServerChangeListener): void {
    this.#listeners.add(listener);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #period() {
    return this.events?.listening ? this.ttl.announced : this.ttl.unannounced;
  }

  async #check() {
    const cached = [...this.#cache.entries()];
    if (cached.length === 0) return;
    const current = new Map((await this.catalog.databaseServer.findMany({ select: { id: true, updatedAt: true } })).map((s) => [s.id, s.updatedAt.getTime()]));
    for (const [id, entry] of cached) {
      const row = await entry.catch(() => undefined);
      if (!row || this.#cache.get(id) !== entry) continue;
      const updated = current.get(id);
      // Changed since it was read, or removed; a row read after `current` is never older than it.
      if (updated === undefined || updated > row.updatedAt.getTime()) this.#drop(id);
    }
  }

  #schedule() {
    // Floored, even with STRATA_CATALOG_CACHE_MS=0: one small query per period.
    this.#timer = setTimeout(
      () => {
        this.#check()
          .catch(() => undefined)
          .finally(() => this.#timer && this.#schedule());
      },
      Math.max(this.#period(), 200),
    );
    this.#timer.unref();
  }

  /** On '*', only the rows that did change are dropped. */
  #drop(serverId: string | '*') {
    if (serverId === '*') {
      this.#check().catch(() => undefined);
      return;
    }
    this.#cache.delete(serverId);
    for (const listener of this.#listeners) listener(serverId);
  }
}
