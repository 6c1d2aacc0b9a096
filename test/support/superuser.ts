/** A superuser session in one database of the test server (bypasses RLS), closed when the test ends. */
import pg from 'pg';
import type { Test } from 'tap';
import { adminUrl } from '../helper.js';

export async function superuserClient(t: Test, database: string): Promise<pg.Client> {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  t.teardown(() => client.end());
  return client;
}
