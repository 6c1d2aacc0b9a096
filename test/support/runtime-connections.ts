/**
 * Watches, server-side (pg_stat_activity), how many runtime-role connections are open to an
 * installation's databases: what the connection budget promises to bound.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Test } from 'tap';
import type { Platform } from '../../src/platform/platform.js';
import { adminUrl } from '../helper.js';

/**
 * Samples the runtime connections to `databases` (every database of the installation when not
 * given) until the returned function is called; that resolves to the most seen at once.
 */
export async function watchRuntimeConnections(t: Test, platform: Platform, databases?: string[]): Promise<() => Promise<number>> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  let most = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE usename = $1 AND (datname = ANY($2) OR ($2 IS NULL AND starts_with(datname, $3)))`,
        [platform.config.database.runtime.role, databases ?? null, `${platform.config.database.prefix}_`],
      );
      most = Math.max(most, rows[0]!.n);
      await sleep(5);
    }
    await admin.end();
    return most;
  })();
  const stop = () => {
    stopped = true;
    return done;
  };
  t.teardown(stop);
  return stop;
}
