/**
 * A move's other server dies mid-move (a real second PostgreSQL, stopped):
 * - the target dies after the fence: the rollback used to remove the target first, retrying every
 *   second for as long as that server was down, while the tenant's healthy source kept refusing
 *   writes (503). The source's fence is lifted first now; the target goes once it is back.
 * - after the flip, a cleanup that keeps failing (here: the old database still in use) used to
 *   retry every second with no backoff and report each attempt as move.failed for a move that then
 *   succeeded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t from 'tap';
import { requestMove } from '../../src/moves/move-jobs.js';
import { runMove } from '../../src/moves/run-move.js';
import type { ProgressEvent } from '../../src/progress/progress-reporter.js';
import { adminUrl, provision, startTestPlatform } from '../helper.js';
import { startExtraServer } from '../support/extra-server.js';
import { seedTenantRows } from '../support/tenant-rows.js';
import { assertWritesPresent, placementOf, rowsAt, startWriteLoop } from './move-support.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const extra = await startExtraServer(t, platform);

t.test('the target server dies after the fence: the source takes writes again at once, the target goes once it is back', async (t) => {
  const tenant = await provision(platform, 'pooled', 'dead-target');
  await seedTenantRows(platform, tenant, 100);
  const writes = startWriteLoop(platform, tenant.id, { pauseMs: 5 });
  const job = await requestMove(platform, { tenantId: tenant.id, targetTier: 'dedicated', targetServer: extra.server.name, requestedBy: null });
  const events: ProgressEvent[] = [];
  let stoppedAt = 0;
  const running = runMove(platform, job.id, {
    graceMs: 200,
    onProgress: (event) => events.push(event),
    onPhase: async (phase) => {
      if (phase !== 'final') return;
      await extra.stop();
      stoppedAt = Date.now();
    },
  });

  let writableAfter = -1;
  for (let i = 0; i < 300 && writableAfter < 0; i++) {
    await sleep(100);
    if (!stoppedAt) continue;
    const now = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
    if (now.status !== 'active') continue;
    // No retry here: a write refused by the fence fails this test.
    await platform.router.clientFor((await platform.tenants.byId(tenant.id))!).lead.create({ data: { name: 'written while the target is down' } });
    writableAfter = Date.now() - stoppedAt;
  }
  t.ok(writableAfter >= 0 && writableAfter < 5000, `the source took writes ${writableAfter} ms after the target server died`);
  const meanwhile = await platform.catalog.tenantMove.findUniqueOrThrow({ where: { id: job.id } });
  t.match(meanwhile, { status: 'running', phase: 'rollback' }, 'the target is still to be removed');

  await sleep(3000); // a few removal attempts against the dead server
  await extra.start();
  const finished = await running;
  t.equal(finished.status, 'failed', 'rolled back');
  const report = await writes.stop();
  t.ok(report.writes > 0, `${report.writes} writes went on throughout`);
  await assertWritesPresent(t, platform, tenant.id, report, 'on the source');
  t.equal(
    await rowsAt(platform, { tier: 'dedicated', serverId: extra.server.id, schema: job.toSchema, database: job.toDatabase }, tenant.id),
    'gone',
    'the target database is removed',
  );
  const retries = events.filter((e) => e.event === 'move.retry');
  t.ok(retries.length >= 2, `the removal was retried (${retries.length} times)`);
  t.same(
    retries.map((e) => e.delayMs),
    retries.map((_, i) => Math.min(60_000, 1000 * 2 ** i)),
    'retries back off exponentially',
  );
});

t.test('the old database is still in use during cleanup: retries back off, say retry, and the move succeeds', async (t) => {
  // On the default server, whose URL the session holding the old database uses.
  const tenant = await provision(platform, 'dedicated', 'busy-source', 'free', 'default');
  await seedTenantRows(platform, tenant, 100);
  const job = await requestMove(platform, { tenantId: tenant.id, targetTier: 'pooled', requestedBy: null });
  const url = new URL(adminUrl());
  url.pathname = `/${tenant.databaseName}`;
  // A session of its own on the old database: DROP DATABASE fails (55006) for as long as it stays.
  const holder = new pg.Client({ connectionString: url.toString() });
  const events: ProgressEvent[] = [];
  let held = false;
  const running = runMove(platform, job.id, {
    graceMs: 0,
    onProgress: (event) => events.push(event),
    onPhase: async (phase) => {
      if (phase !== 'cleanup' || held) return;
      held = true;
      await holder.connect();
    },
  });
  const retried = () => events.filter((e) => e.event === 'move.retry').length;
  for (let i = 0; i < 300 && retried() < 3; i++) await sleep(100);
  t.equal(retried(), 3, 'three attempts failed while the database was in use');
  await holder.end();
  const finished = await running;
  t.equal(finished.status, 'succeeded');
  t.same(
    events.filter((e) => e.event === 'move.failed'),
    [],
    'no move.failed event for a move that succeeded',
  );
  const retries = events.filter((e) => e.event === 'move.retry');
  t.ok(
    retries.every((e) => e.phase === 'cleanup'),
    'each retry names the cleanup',
  );
  t.same(
    retries.map((e) => e.delayMs),
    retries.map((_, i) => Math.min(60_000, 1000 * 2 ** i)),
    `retries back off: ${retries.map((e) => e.delayMs).join(', ')} ms`,
  );
  t.equal(await rowsAt(platform, placementOf(tenant), tenant.id), 'gone', 'the old database is dropped');
  const leads = await platform.router.clientFor((await platform.tenants.byId(tenant.id))!).lead.count();
  t.equal(leads, 100, 'every lead arrived in the pooled tables');
});
