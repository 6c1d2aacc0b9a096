/**
 * An owner role of one test file's own, for tests whose migrations change rows: those need the
 * owner's BYPASSRLS, and the shared server's default owner role is bootstrapped (its attributes
 * set) by every installation of every checkout running at the same time.
 */
import { randomBytes } from 'node:crypto';
import pg, { escapeIdentifier } from 'pg';
import type { Test } from 'tap';
import { adminUrl } from '../helper.js';

/** Call before startTestPlatform: the role is dropped after the installation's databases are. */
export function privateOwnerRole(t: Test): string {
  const role = `strata_owner_${randomBytes(3).toString('hex')}`;
  t.teardown(async () => {
    const superuser = new pg.Client({ connectionString: adminUrl() });
    await superuser.connect();
    try {
      await superuser.query(`DROP OWNED BY ${escapeIdentifier(role)}`).catch(() => undefined);
      await superuser.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
    } catch (err) {
      console.error(`role ${role} kept: ${(err as Error).message}`);
    } finally {
      await superuser.end();
    }
  });
  return role;
}
