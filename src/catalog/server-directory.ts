/** Database servers from the catalog, cached: they change rarely and every new pool needs one. */
import type { ServerRecord } from '../servers/server-access.js';
import type { CatalogClient } from './catalog-client.js';

export class UnknownServerError extends Error {
  constructor(what: string) {
    super(`No database server ${what} in the catalog`);
    this.name = 'UnknownServerError';
  }
}

export class ServerDirectory {
  readonly #byId = new Map<string, Promise<ServerRecord>>();

  constructor(private readonly catalog: CatalogClient) {}

  byId(id: string): Promise<ServerRecord> {
    let hit = this.#byId.get(id);
    if (!hit) {
      hit = this.catalog.databaseServer.findUnique({ where: { id } }).then((row) => {
        if (!row) throw new UnknownServerError(`with id ${id}`);
        return row;
      });
      hit.catch(() => this.#byId.delete(id));
      this.#byId.set(id, hit);
    }
    return hit;
  }

  async byName(name: string): Promise<ServerRecord> {
    const row = await this.catalog.databaseServer.findUnique({ where: { name } });
    if (!row) throw new UnknownServerError(`named ${name}`);
    return row;
  }

  /** The server new tenants go to when none is named: the oldest one accepting tenants. */
  async forNewTenant(): Promise<ServerRecord> {
    const row = await this.catalog.databaseServer.findFirst({
      where: { acceptsNewTenants: true },
      orderBy: { createdAt: 'asc' },
    });
    if (!row) throw new UnknownServerError('accepting new tenants');
    return row;
  }
}
