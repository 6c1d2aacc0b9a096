/** Connecting to a server as its owner (DDL, migrations) or the runtime role (tenant traffic). */
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
  // Tenant traffic may pass a transaction-mode pooler; owner work (DDL, advisory locks, COPY)
  // needs its own session and goes direct.
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

/** Lets a DBA attribute load in pg_stat_activity; PostgreSQL keeps the first 63 bytes. */
export function runtimeApplicationName(server: Pick<ServerRecord, 'name' | 'tenantsDatabase'>, database: string): string {
  return `strata:${database === server.tenantsDatabase ? 'pooled+schema' : 'dedicated'}:${server.name}`;
}

/** Never for tenant traffic. */
export async function withOwnerConnection<T>(server: ServerRecord, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(connectionConfig(server, 'owner', database));
  // Unheard, 'error' would end the process; the query under way fails instead.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
