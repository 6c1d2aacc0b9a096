/**
 * Drops every database of one installation (`<prefix>_*`): for throwaway installations of tests
 * and benchmarks. Roles are shared by installations on a server and are left alone.
 */
import pg, { escapeIdentifier } from 'pg';

export async function dropInstallation(adminUrl: string, prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => undefined); // a dropped session fails the statement under way
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [`${prefix}_`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE ${escapeIdentifier(datname)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
