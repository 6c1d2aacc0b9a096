/**
 * Regression: a terminated PostgreSQL session crashed the whole API process. Clients without an
 * 'error' listener (the move runner's advisory-lock session, the owner sessions of export and
 * import) threw on 57P01: pg_terminate_backend of the idle lock backend, or purging a dedicated
 * tenant while its export streamed, took every tenant of the instance down. Here each trigger
 * hits a listening API; the process must see no uncaught exception, the move must finish, the
 * purge must succeed, and the API must keep answering.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t from 'tap';
import { databaseNames } from '../../src/platform/platform.js';
import { adminUrl, startTestPlatform } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';
import { seedTenantRows } from '../support/tenant-rows.js';

const uncaught: string[] = [];
const record = (err: Error) => uncaught.push(err.message);
process.on('uncaughtException', record);
t.teardown(() => void process.off('uncaughtException', record));

const exports = await mkdtemp(join(tmpdir(), 'strata-terminated-'));
t.teardown(() => rm(exports, { recursive: true, force: true }));
const platform = await startTestPlatform(t, { STRATA_MOVE_GRACE_MS: '4000', STRATA_SPARE_SCHEMAS: '0', STRATA_PURGE_EXPORT_DIR: exports });
const { api, raw, adminLogin } = await liveAdmin(t, platform);
const admin = await adminLogin();
const call = (method: string, path: string, body?: unknown) => api(method, path, { token: admin, body });
const superuser = new pg.Client({ connectionString: adminUrl() });
await superuser.connect();
t.teardown(() => superuser.end());

async function createTenant(slug: string, tier: string, leads: number) {
  const created = await call('POST', '/admin/tenants', { slug, name: slug, plan: 'free', tier, owner: { email: `owner@${slug}.example`, name: 'Owner' } });
  if (created.status !== 201) throw new Error(`creating ${slug}: ${JSON.stringify(created.body)}`);
  const tenant = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: created.body.tenant.id } });
  await seedTenantRows(platform, tenant, leads);
  return tenant;
}

const alive = async () => (await api('GET', '/healthz')).status;

t.test('terminating the move runner’s idle lock session: the runner stops, resumes, and the move finishes', async (t) => {
  const tenant = await createTenant('lock-lost', 'pooled', 200);
  const move = await call('POST', `/admin/tenants/${tenant.id}/moves`, { targetTier: 'dedicated' });
  t.equal(move.status, 202);
  let job = move.body;
  for (let i = 0; i < 600 && job.phase !== 'cleanup'; i++) {
    await sleep(50);
    job = (await call('GET', `/admin/moves/${job.id}`)).body;
  }
  t.equal(job.phase, 'cleanup', 'the runner holds its lock through the grace');
  const { rows } = await superuser.query<{ pid: number }>(
    `SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity
      WHERE datname = $1 AND state = 'idle' AND query LIKE '%pg_try_advisory_lock%'`,
    [databaseNames(platform.config.database.prefix).catalog],
  );
  t.equal(rows.length, 1, 'the lock session was terminated');
  for (let i = 0; i < 300 && job.status === 'running'; i++) {
    await sleep(100);
    job = (await call('GET', `/admin/moves/${job.id}`)).body;
  }
  t.match(job, { status: 'succeeded', phase: 'done' }, 'the move was resumed and finished');
  t.equal(await alive(), 200, 'the API still answers');
  t.same(uncaught, [], 'no uncaught exception');
});

t.test('purging a dedicated tenant while its export streams fails the export, not the process', async (t) => {
  const tenant = await createTenant('export-purged', 'dedicated', 20_000);
  const other = await createTenant('bystander', 'dedicated', 10);
  const exporting = await raw('GET', `/admin/tenants/${tenant.id}/export`, { token: admin });
  t.equal(exporting.status, 200, 'the export streams');
  const reader = exporting.body!.getReader();
  await reader.read(); // then stops reading: the export's session waits, mid-COPY, on backpressure

  t.equal((await call('DELETE', `/admin/tenants/${tenant.id}`)).status, 200);
  const purged = await call('POST', `/admin/tenants/${tenant.id}/purge`);
  t.equal(purged.status, 200, purged.status === 200 ? 'purged (its database dropped WITH FORCE)' : JSON.stringify(purged.body));
  const rest = await (async () => {
    try {
      for (;;) if ((await reader.read()).done) return 'ended';
    } catch {
      return 'failed';
    }
  })();
  t.ok(rest === 'failed' || rest === 'ended', `the export's response ${rest}`);
  await sleep(200);
  t.equal(await alive(), 200, 'the API still answers');
  t.equal((await call('GET', `/admin/tenants/${other.id}`)).status, 200, 'another dedicated tenant is still served');
  t.same(uncaught, [], 'no uncaught exception');
});
