/**
 * How to connect to a database server recorded in the catalog, as its owner (DDL, migrations,
 * provisioning) or as the runtime role (all tenant traffic). Secrets come from their references.
 */
import pg, { type PoolConfig } from 'pg';
import type { DatabaseServer } from '../catalog/catalog-client.js';
import { resolveSecret } from '../config/config.js';

/** What connecting to a server takes: the catalog row's endpoints, roles and secret references. */
export type ServerRecord = Pick<
  DatabaseServer,
  | 'id'
  | 'name'
  | 'host'
  | 'port'
  | 'runtimeHost'
  | 'runtimePort'
  | 'tenantsDatabase'
  | 'ownerRole'
  | 'ownerSecretRef'
  | 'runtimeRole'
  | 'runtimeSecretRef'
  | 'maxConnections'
>;

export type ServerRole = 'owner' | 'runtime';

export function connectionConfig(server: ServerRecord, role: ServerRole, database: string): PoolConfig {
  // Tenant traffic may pass a pooler in transaction mode: its context is only ever transaction-local.
  // Owner work (DDL, advisory locks, COPY) needs a session of its own and always goes direct.
  const runtime = role === 'runtime';
  return {
    host: (runtime && server.runtimeHost) || server.host,
    port: (runtime && server.runtimePort) || server.port,
    database,
    user: role === 'owner' ? server.ownerRole : server.runtimeRole,
    password: resolveSecret(role === 'owner' ? server.ownerSecretRef : server.runtimeSecretRef),
    application_name: runtime ? runtimeApplicationName(server, database) : `strata-${role}`,
  };
}

/**
 * What tenant connections show in pg_stat_activity, so a DBA can attribute load: `strata:dedicated:<server>`
 * for a dedicated database, `strata:pooled+schema:<server>` for a server's tenants database (one pool
 * serves both tiers there). PostgreSQL keeps the first 63 bytes.
 */
export function runtimeApplicationName(server: Pick<ServerRecord, 'name' | 'tenantsDatabase'>, database: string): string {
  return `strata:${database === server.tenantsDatabase ? 'pooled+schema' : 'dedicated'}:${server.name}`;
}

/** Runs `fn` on a fresh owner connection to `database` (DDL and migrations; never tenant traffic). */
export async function withOwnerConnection<T>(server: ServerRecord, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(connectionConfig(server, 'owner', database));
  // A terminated session (restart, pg_terminate_backend, DROP DATABASE … FORCE) fails the query
  // under way or the next one; unlistened, its 'error' event would end the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
