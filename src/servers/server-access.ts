/**
 * How to connect to a database server recorded in the catalog, as its owner (DDL, migrations,
 * provisioning) or as the runtime role (all tenant traffic). Secrets come from their references.
 */
import pg, { type PoolConfig } from 'pg';
import { resolveSecret } from '../config/config.js';

export interface ServerRecord {
  id: string;
  name: string;
  host: string;
  port: number;
  tenantsDatabase: string;
  ownerRole: string;
  ownerSecretRef: string;
  runtimeRole: string;
  runtimeSecretRef: string;
  maxConnections: number;
}

export type ServerRole = 'owner' | 'runtime';

export function connectionConfig(server: ServerRecord, role: ServerRole, database: string): PoolConfig {
  return {
    host: server.host,
    port: server.port,
    database,
    user: role === 'owner' ? server.ownerRole : server.runtimeRole,
    password: resolveSecret(role === 'owner' ? server.ownerSecretRef : server.runtimeSecretRef),
    application_name: `strata-${role}`,
  };
}

/** Runs `fn` on a fresh owner connection to `database` (DDL and migrations; never tenant traffic). */
export async function withOwnerConnection<T>(
  server: ServerRecord,
  database: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(connectionConfig(server, 'owner', database));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
