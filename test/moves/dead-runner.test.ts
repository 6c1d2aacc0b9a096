/**
 * Regression: a runner that died after the fence left the tenant read-only without bound. Jobs
 * were resumed only when an API instance started; instances already running never looked again.
 * Here the runner's session ends (pg_terminate_backend, as when its process dies) as the fenced
 * final pass starts, while a listening API keeps serving: the tenant's writes get 503 until that
 * API adopts the job (the runner's lock went with its session), then the move finishes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t from 'tap';
import { requestMove } from '../../src/moves/move-jobs.js';
import { MoveLockLostError, runMove } from '../../src/moves/run-move.js';
import { databaseNames } from '../../src/platform/platform.js';
import { adminUrl, provision, startTestPlatform, userWithToken } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';
import { seedTenantRows } from '../support/tenant-rows.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0', STRATA_MOVE_GRACE_MS: '200' });
const { api } = await liveAdmin(t, platform);
const superuser = new pg.Client({ connectionString: adminUrl() });
await superuser.connect();
t.teardown(() => superuser.end());

t.test('killed after the fence: a running instance adopts the job and the tenant writes again', async (t) => {
  const tenant = await provision(platform, 'pooled', 'orphaned');
  await seedTenantRows(platform, tenant, 100);
  const { token } = await userWithToken(platform, tenant, 'owner');
  const job = await requestMove(platform, { tenantId: tenant.id, targetTier: 'schema', requestedBy: null });
  // The runner's session ends as the fenced final pass starts, as when its process dies.
  const died = await runMove(platform, job.id, {
    onPhase: async (phase) => {
      if (phase !== 'final') return;
      await superuser.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid()`,
        [databaseNames(platform.config.database.prefix).catalog],
      );
      await sleep(500);
    },
  }).catch((err: Error) => err);
  t.type(died, MoveLockLostError, 'the runner stopped inside the fence');
  const write = () => api('POST', '/leads', { token, body: { name: 'after the runner died' } });
  const fenced = await write();
  t.equal(fenced.status, 503, 'writes are refused while fenced');

  const started = Date.now();
  let status = fenced.status;
  while (status !== 201 && Date.now() - started < 60_000) {
    await sleep(500);
    status = (await write()).status;
  }
  t.equal(status, 201, `writes accepted again ${Date.now() - started} ms later`);
  let done = await platform.catalog.tenantMove.findUniqueOrThrow({ where: { id: job.id } });
  for (let i = 0; i < 300 && done.status === 'running'; i++) {
    await sleep(100);
    done = await platform.catalog.tenantMove.findUniqueOrThrow({ where: { id: job.id } });
  }
  t.match(done, { status: 'succeeded' }, 'the adopted move finished');
  t.match(await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } }), { tier: 'schema' });
});
