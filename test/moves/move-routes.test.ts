/**
 * The move admin API: request with one call and watch it finish; history and audit; refusals as
 * problems; cancel before the switch leaves the tenant untouched; the fence answers writes with 503
 * and Retry-After while reads go on; a second API instance sharing Redis follows within 1 s.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { fenceWrites, startCapture, stopCapture } from '../../src/moves/change-capture.js';
import { requestMove } from '../../src/moves/move-jobs.js';
import { withLocation } from '../../src/moves/move-locations.js';
import { runMove } from '../../src/moves/run-move.js';
import { startPlatform } from '../../src/platform/platform.js';
import { tenantTables } from '../../src/transfer/tenant-tables.js';
import { adminToken, bearer, provision, runtimeConnection, startTestPlatform, testApp, tokenFor } from '../helper.js';
import { seedTenantRows } from '../support/tenant-rows.js';
import { placementOf, rowsAt } from './move-support.js';

const platform = await startTestPlatform(t, { STRATA_MOVE_GRACE_MS: '200' });
const app = await testApp(t, platform);
const admin = bearer(await adminToken(platform));

const moveOf = (id: string, body: object, headers = admin) => app.inject({ method: 'POST', url: `/admin/tenants/${id}/moves`, headers, payload: body });
const job = (jobId: string) => app.inject({ method: 'GET', url: `/admin/moves/${jobId}`, headers: admin });

async function waitFinished(jobId: string) {
  for (let i = 0; i < 600; i++) {
    const body = (await job(jobId)).json();
    if (body.status !== 'running') return body;
    await sleep(100);
  }
  throw new Error(`move ${jobId} did not finish`);
}

t.test('one call moves a tenant; the job shows its progress, the history and the audit trail show the move', async (t) => {
  const tenant = await provision(platform, 'pooled', 'api-move');
  await seedTenantRows(platform, tenant, 300);
  const res = await moveOf(tenant.id, { targetTier: 'dedicated' });
  t.equal(res.statusCode, 202, res.body);
  const started = res.json();
  t.match(started, { tenantId: tenant.id, from: { tier: 'pooled' }, to: { tier: 'dedicated' }, status: 'running' });
  t.equal(res.headers.location, `/admin/moves/${started.id}`);

  const again = await moveOf(tenant.id, { targetTier: 'schema' });
  t.equal(again.statusCode, 409, 'a second move of the same tenant is refused while one is under way');
  t.equal(again.json().code, 'STRATA_MOVE_CONFLICT');

  const done = await waitFinished(started.id);
  t.match(done, { status: 'succeeded', phase: 'done', percent: 100, rowsCopied: 300 + 3 + 75 + 75 + 3, rowsTotal: 300 + 3 + 75 + 75 + 3 });
  t.equal(done.tables.leads.copied, 300);
  t.type(done.fenceMs, 'number');

  const history = await app.inject({ method: 'GET', url: `/admin/tenants/${tenant.id}/moves`, headers: admin });
  t.equal(history.statusCode, 200);
  t.same(
    history.json().items.map((m: { from: { tier: string }; to: { tier: string } }) => `${m.from.tier}→${m.to.tier}`),
    ['pooled→dedicated'],
  );

  const audit = await app.inject({ method: 'GET', url: `/admin/audit?tenantId=${tenant.id}`, headers: admin });
  const actions = audit.json().items.map((e: { action: string }) => e.action);
  t.ok(actions.includes('tenant.move.request') && actions.includes('tenant.move.succeeded'), `audited: ${actions}`);

  const cancelLate = await app.inject({ method: 'POST', url: `/admin/moves/${started.id}/cancel`, headers: admin });
  t.equal(cancelLate.statusCode, 409, 'a finished move cannot be cancelled');

  const leads = await app.inject({ method: 'GET', url: '/leads?limit=5', headers: bearer(tokenFor(platform, tenant)) });
  t.equal(leads.statusCode, 200, 'the tenant is served from its new place');
  t.equal(leads.json().items.length, 5);
});

t.test('bad requests are problems, never 500s; tenant tokens are refused', async (t) => {
  const tenant = await provision(platform, 'schema', 'api-bad');
  t.equal((await moveOf(tenant.id, { targetTier: 'schema' })).statusCode, 400, 'already there');
  t.equal((await moveOf(tenant.id, { targetTier: 'pooled', targetServer: 'nowhere' })).statusCode, 400, 'unknown server');
  t.equal((await moveOf(tenant.id, { targetTier: 'moon' })).statusCode, 400, 'unknown tier');
  t.equal((await moveOf(tenant.id, { targetTier: 'pooled', extra: 1 })).statusCode, 400, 'unknown field');
  t.equal((await moveOf('00000000-0000-4000-8000-000000000000', { targetTier: 'pooled' })).statusCode, 404);
  t.equal((await moveOf('not-a-uuid', { targetTier: 'pooled' })).statusCode, 400);
  t.equal((await job('00000000-0000-4000-8000-000000000000')).statusCode, 404);
  t.equal((await moveOf(tenant.id, { targetTier: 'pooled' }, bearer(tokenFor(platform, tenant)))).statusCode, 401);
  t.equal(await platform.catalog.tenantMove.count({ where: { tenantId: tenant.id } }), 0, 'no move was recorded');
});

t.test('cancel before the switch: rolled back, the tenant untouched where it was', async (t) => {
  const tenant = await provision(platform, 'schema', 'api-cancel');
  await seedTenantRows(platform, tenant, 200);
  const before = await rowsAt(platform, placementOf(tenant), tenant.id);
  // Requested but not yet run by anyone: the cancel reaches it before its first phase.
  const requested = await requestMove(platform, { tenantId: tenant.id, targetTier: 'dedicated', requestedBy: null });
  const res = await app.inject({ method: 'POST', url: `/admin/moves/${requested.id}/cancel`, headers: admin });
  t.equal(res.statusCode, 202, res.body);
  t.equal(res.json().cancelRequested, true);
  const done = await waitFinished(requested.id);
  t.match(done, { status: 'cancelled', phase: 'rollback' });
  const after = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
  t.match(after, { tier: 'schema', status: 'active', version: tenant.version, schemaName: tenant.schemaName });
  t.same(await rowsAt(platform, placementOf(tenant), tenant.id), before, 'its rows are as they were');
  t.equal(await rowsAt(platform, { ...placementOf(tenant), tier: 'dedicated', database: requested.toDatabase, schema: 'public' }, tenant.id), 'gone');
  const write = await app.inject({ method: 'POST', url: '/leads', headers: bearer(tokenFor(platform, tenant)), payload: { name: 'after cancel' } });
  t.equal(write.statusCode, 201, 'and writable');
});

t.test('while fenced, writes get 503 with Retry-After and reads still work', async (t) => {
  const tenant = await provision(platform, 'pooled', 'api-fence');
  const neighbour = await provision(platform, 'pooled', 'api-fence-nb');
  const headers = bearer(tokenFor(platform, tenant));
  const location = placementOf(tenant);
  await withLocation(platform, location, async (client) => {
    const tables = await tenantTables(client, location.schema);
    await startCapture(client, location.schema, tables, tenant.id);
    await fenceWrites(client, location.schema, tables, tenant.id);
  });
  t.teardown(() => withLocation(platform, location, (client) => stopCapture(client, location.schema, tenant.id)));
  const write = await app.inject({ method: 'POST', url: '/leads', headers, payload: { name: 'fenced' } });
  t.equal(write.statusCode, 503, write.body);
  t.equal(write.headers['retry-after'], '1');
  t.equal(write.json().code, 'STRATA_TENANT_MOVING');
  t.equal((await app.inject({ method: 'GET', url: '/leads', headers })).statusCode, 200, 'reads go on');
  const other = await app.inject({ method: 'POST', url: '/leads', headers: bearer(tokenFor(platform, neighbour)), payload: { name: 'not fenced' } });
  t.equal(other.statusCode, 201, 'another tenant in the same tables writes as usual');
  // The change log names rows of whichever tenants are moving: tenant traffic cannot see or touch it.
  const runtime = await runtimeConnection(t, platform, neighbour);
  for (const sql of ['SELECT * FROM strata_moves.changes', 'SELECT * FROM strata_moves.moving', 'DELETE FROM strata_moves.moving']) {
    await t.rejects(runtime.query(sql), { code: '42501' }, `the runtime role is refused: ${sql}`);
  }
});

t.test('a second API instance sharing Redis routes to the new place within 1 s of the switch', async (t) => {
  const other = await startPlatform(platform.config, pino({ level: 'silent' }));
  const otherApp = await buildApp({ config: platform.config, platform: other });
  t.teardown(async () => {
    await otherApp.close();
    await other.close();
  });
  const tenant = await provision(platform, 'pooled', 'api-two');
  const headers = bearer(tokenFor(platform, tenant));
  // The other instance caches the tenant's entry and routing handle.
  t.equal((await otherApp.inject({ method: 'POST', url: '/leads', headers, payload: { name: 'before' } })).statusCode, 201);
  const requested = await requestMove(platform, { tenantId: tenant.id, targetTier: 'schema', requestedBy: null });
  let switchedAt = 0;
  let followedAt = 0;
  const watching = (async () => {
    while (!switchedAt) await sleep(5);
    for (;;) {
      const res = await otherApp.inject({ method: 'POST', url: '/leads', headers, payload: { name: 'after' } });
      if (res.statusCode === 201) break;
      t.equal(res.statusCode, 503, 'a write routed to the old place is refused by its fence, never stored there');
      await sleep(20);
    }
    followedAt = performance.now();
  })();
  const finished = await runMove(platform, requested.id, {
    graceMs: 3000,
    onPhase: (phase) => {
      if (phase === 'invalidate') switchedAt = performance.now();
    },
  });
  await watching;
  t.equal(finished.status, 'succeeded');
  const lag = followedAt - switchedAt;
  t.ok(lag < 1000, `the other instance wrote to the new place ${Math.round(lag)} ms after the switch`);
  const entry = await other.tenants.byId(tenant.id);
  t.match(entry, { tier: 'schema', version: tenant.version + 1 });
  const names = (await otherApp.inject({ method: 'GET', url: '/leads', headers }))
    .json()
    .items.map((l: { name: string }) => l.name)
    .sort();
  t.same(names, ['after', 'before']);
});
