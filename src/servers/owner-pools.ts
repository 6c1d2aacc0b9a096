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
      pool = new pg.Pool({ ...connectionConfig(server, 'owner', database), max: 2, idleTimeoutMillis: 10_000 });
      pool.on('error', () => undefined); // an idle connection the server dropped is simply replaced
      this.#pools.set(key, pool);
    }
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      // Statement errors leave the session usable; anything else might not have.
      if (!(err as { code?: string }).code) failure = err as Error;
      throw err;
    } finally {
      client.release(failure);
    }
  }

  /** Closes the pool of a database, e.g. before it is dropped. */
  async close(server: ServerRecord, database: string): Promise<void> {
    const key = `${server.id}/${database}`;
    const pool = this.#pools.get(key);
    this.#pools.delete(key);
    await pool?.end();
  }

  async closeAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.end()));
  }
}
