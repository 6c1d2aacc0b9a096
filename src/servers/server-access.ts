/**
 * Connecting to a catalog's database server as its owner (DDL, migrations, provisioning) or as the
 * runtime role (all tenant traffic). Secrets come from their references.
 */
import pg, { type PoolConfig } from 'pg';
import type { DatabaseServer } from '../catalog/catalog-client.js';
import { resolveSecret } from '../config/config.js';

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
  // Tenant traffic may pass a transaction-mode pooler: its context is only transaction-local.
  // Owner work (DDL, advisory locks, COPY) needs its own session and goes direct.
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
 * Shown in pg_stat_activity, so a DBA can attribute load (one pool serves both tiers of a tenants
 * database). PostgreSQL keeps the first 63 bytes.
 */
export function runtimeApplicationName(server: Pick<ServerRecord, 'name' | 'tenantsDatabase'>, database: string): string {
  return `strata:${database === server.tenantsDatabase ? 'pooled+schema' : 'dedicated'}:${server.name}`;
}

/** A fresh owner connection, for DDL and migrations; never tenant traffic. */
export async function withOwnerConnection<T>(server: ServerRecord, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(connectionConfig(server, 'owner', database));
  // A terminated session fails the query under way or the next; unheard, 'error' would end the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
