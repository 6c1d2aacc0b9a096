/**
 * Owner-role connections kept for provisioning, so creating a tenant does not pay a new
 * connection (and its authentication) each time. Small, idle-closed, one pool per database.
 */
import pg from 'pg';
import { connectionConfig, type ServerRecord } from './server-access.js';

export class OwnerPools {
  readonly #pools = new Map<string, pg.Pool>();

  async with<T>(server: ServerRecord, database: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const key = `${server.id}/${database}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      // A server that drops packets fails the caller after 10 s instead of holding it for minutes.
      pool = new pg.Pool({ ...connectionConfig(server, 'owner', database), max: 2, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 10_000 });
      pool.on('error', () => undefined); // an idle connection the server dropped is simply replaced
      this.#pools.set(key, pool);
    }
    const client = await pool.connect();
    // The pool listens only to idle clients: a checked-out one whose session is terminated would
    // otherwise emit 'error' unheard and end the process. The work under way fails instead.
    const onError = () => undefined;
    client.on('error', onError);
    let failure: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      // Statement errors leave the session usable; anything else might not have.
      if (!(err as { code?: string }).code) failure = err as Error;
      throw err;
    } finally {
      client.off('error', onError);
      client.release(failure);
    }
  }

  /** Closes the pool of a database, e.g. before it is dropped. */
  close(server: ServerRecord, database: string): Promise<void> {
    return this.#close(`${server.id}/${database}`);
  }

  /** Closes every pool of a server, e.g. when its endpoint or credentials changed. */
  async closeServer(serverId: string): Promise<void> {
    await Promise.all([...this.#pools.keys()].filter((key) => key.startsWith(`${serverId}/`)).map((key) => this.#close(key)));
  }

  async closeAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.end()));
  }

  async #close(key: string) {
    const pool = this.#pools.get(key);
    this.#pools.delete(key);
    await pool?.end();
  }
}
