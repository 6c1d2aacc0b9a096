/**
 * Prepares a server idempotently: the owner role (owns every table, BYPASSRLS), the runtime role
 * (all tenant traffic: no superuser, no BYPASSRLS, owns nothing) and the databases, closed to
 * everyone else. Only this step needs a superuser (to grant BYPASSRLS).
 */
import pg, { escapeIdentifier, escapeLiteral } from 'pg';

export interface RoleSpec {
  role: string;
  password: string;
}

export interface ServerBootstrap {
  adminUrl: string | pg.ClientConfig;
  connectTimeoutMs?: number;
  owner: RoleSpec;
  runtime: RoleSpec;
  databases: { name: string; runtimeConnects: boolean }[];
}

const duplicate = new Set(['42710', '42P04', '23505']);

/** Losing a race with another process running the same DDL is fine. */
async function idempotent(client: pg.Client, sql: string) {
  try {
    await client.query(sql);
  } catch (err) {
    if (!duplicate.has((err as { code?: string }).code ?? '')) throw err;
  }
}

export async function bootstrapServer(spec: ServerBootstrap): Promise<void> {
  const settings = typeof spec.adminUrl === 'string' ? { connectionString: spec.adminUrl } : spec.adminUrl;
  const admin = new pg.Client({ ...settings, connectionTimeoutMillis: spec.connectTimeoutMs, application_name: 'strata-bootstrap' });
  admin.on('error', () => undefined); // a dropped session fails the statement under way
  await admin.connect();
  try {
    // Concurrent ALTER ROLE / GRANT fail with "tuple concurrently updated": bootstraps take turns.
    await admin.query(`SELECT pg_advisory_lock(hashtextextended('strata.bootstrap', 0))`);
    const owner = escapeIdentifier(spec.owner.role);
    const runtime = escapeIdentifier(spec.runtime.role);
    await idempotent(admin, `CREATE ROLE ${owner} LOGIN`);
    await idempotent(admin, `CREATE ROLE ${runtime} LOGIN`);
    // Tenant tables force row security on their owner too: without BYPASSRLS a migration's UPDATE
    // would see no rows. Set on every boot, so older installations get it.
    await admin.query(`ALTER ROLE ${owner} LOGIN CREATEDB NOSUPERUSER BYPASSRLS PASSWORD ${escapeLiteral(spec.owner.password)}`);
    await admin.query(`ALTER ROLE ${runtime} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${escapeLiteral(spec.runtime.password)}`);
    // A purge's DROP DATABASE … WITH (FORCE) must end every instance's runtime connections to it;
    // pg_signal_backend allows that and nothing more.
    await admin.query(`GRANT pg_signal_backend TO ${owner}`);
    for (const database of spec.databases) {
      const name = escapeIdentifier(database.name);
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database.name]);
      if (!rowCount) await idempotent(admin, `CREATE DATABASE ${name} OWNER ${owner}`);
      await admin.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
      if (database.runtimeConnects) await admin.query(`GRANT CONNECT ON DATABASE ${name} TO ${runtime}`);
    }
  } finally {
    await admin.end();
  }
}
