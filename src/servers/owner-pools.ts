/** Owner connections kept for provisioning, so a new tenant does not pay a connection's setup. */
import pg from 'pg';
import { connectionConfig, type ServerRecord } from './server-access.js';

export class OwnerPools {
  readonly #pools = new Map<string, pg.Pool>();

  async with<T>(server: ServerRecord, database: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const key = `${server.id}/${database}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      // A server that drops packets fails the caller in 10 s, not minutes.
      pool = new pg.Pool({ ...connectionConfig(server, 'owner', database), max: 2, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 10_000 });
      pool.on('error', () => undefined); // an idle connection the server dropped is simply replaced
      this.#pools.set(key, pool);
    }
    const client = await pool.connect();
    // The pool listens only to idle clients: an unheard 'error' would end the process; the work
    // under way fails instead.
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

  close(server: ServerRecord, database: string): Promise<void> {
    return this.#close(`${server.id}/${database}`);
  }

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
