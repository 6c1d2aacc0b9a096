/**
 * A second PostgreSQL server for tests: a private cluster on a free loopback port
 * (src/platform/throwaway-postgres.ts), prepared like any server Strata places tenants on (owner and
 * runtime roles, a migrated tenants database) and registered in the platform's catalog.
 * `stop()`/`start()` simulate an outage of that server only; the shared PostgreSQL is never touched.
 * Everything is removed at test end. `startPrivatePostgres` is the bare server, e.g. as a whole
 * platform's DATABASE_URL for fault tests.
 */
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { resolveSecret } from '../../src/config/config.js';
import { applyMigrations } from '../../src/migrations/apply-migrations.js';
import { databaseNames, type Platform } from '../../src/platform/platform.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../src/platform/throwaway-postgres.js';
import { bootstrapServer } from '../../src/servers/bootstrap-server.js';
import { withOwnerConnection, type ServerRecord } from '../../src/servers/server-access.js';

export type PrivatePostgres = Omit<ThrowawayPostgres, 'remove'>;

export interface ExtraServer extends Omit<PrivatePostgres, 'port'> {
  /** Its catalog row. */
  server: ServerRecord;
}

/** A private PostgreSQL on a free loopback port, removed at test end; nothing else on it. */
export async function startPrivatePostgres(t: Test, name = 'private'): Promise<PrivatePostgres> {
  const { remove, ...server } = await startThrowawayPostgres(name);
  t.teardown(remove);
  return server;
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
    applyMigrations(client, {
      schema: 'public',
      migrations: platform.provisioning.tenantMigrations,
      baseline: platform.provisioning.tenantBaseline,
      runtimeRole: runtime.role,
    }),
  );
  return { server, url, stop, start };
}
