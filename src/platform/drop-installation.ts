/** Drops an installation's databases (`<prefix>_*`) but not its roles, which are shared. */
import pLimit from 'p-limit';
import pg, { escapeIdentifier } from 'pg';

/** Each DROP DATABASE forces a checkpoint; concurrent ones share it. Resolves how many. */
export async function dropInstallation(adminUrl: string, prefix: string, { concurrency = 1 } = {}): Promise<number> {
  const admin = new pg.Pool({ connectionString: adminUrl, max: concurrency });
  admin.on('error', () => undefined); // a dropped session fails the statement under way
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [`${prefix}_`]);
    const limit = pLimit(concurrency);
    await Promise.all(rows.map(({ datname }) => limit(() => admin.query(`DROP DATABASE ${escapeIdentifier(datname)} WITH (FORCE)`))));
    return rows.length;
  } finally {
    await admin.end();
  }
}
