/**
 * Moves across PostgreSQL servers: pooled on the default server → dedicated on a second server,
 * and back to a schema on the default server, with writes running throughout.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { requestMove } from '../../src/moves/move-jobs.js';
import { runMove } from '../../src/moves/run-move.js';
import { provision, startTestPlatform } from '../helper.js';
import { startExtraServer } from '../support/extra-server.js';
import { seedTenantRows } from '../support/tenant-rows.js';
import { assertWritesPresent, distinctTenantIds, placementOf, rowsAt, startWriteLoop } from './move-support.js';

const platform = await startTestPlatform(t);
const extra = await startExtraServer(t, platform);
const tenant = await provision(platform, 'pooled', 'far');
await seedTenantRows(platform, tenant, 300);

t.test('pooled on the default server → dedicated on another server → schema on the default server', async (t) => {
  const writes = startWriteLoop(platform, tenant.id, { pauseMs: 2 });
  await sleep(100);
  const out = await requestMove(platform, { tenantId: tenant.id, targetTier: 'dedicated', targetServer: extra.server.name, requestedBy: null });
  const there = await runMove(platform, out.id, { graceMs: 200 });
  t.equal(there.status, 'succeeded', there.error ?? 'moved out');
  const away = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
  t.match(away, { tier: 'dedicated', serverId: extra.server.id });
  t.same(await distinctTenantIds(extra.url, placementOf(away)), [tenant.id], 'the dedicated database on the other server holds one tenant');
  const pooledLeft = await rowsAt(platform, placementOf(tenant), tenant.id);
  t.ok(pooledLeft !== 'gone' && Object.values(pooledLeft).every((n) => n === 0), 'nothing left in the pooled tables');

  const back = await requestMove(platform, { tenantId: tenant.id, targetTier: 'schema', targetServer: platform.defaultServer.name, requestedBy: null });
  const home = await runMove(platform, back.id, { graceMs: 200 });
  t.equal(home.status, 'succeeded', home.error ?? 'moved back');
  const report = await writes.stop();
  const final = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
  t.match(final, { tier: 'schema', serverId: platform.defaultServer.id, version: tenant.version + 2 });
  t.equal(await rowsAt(platform, placementOf(away), tenant.id), 'gone', 'the database on the other server is dropped');
  await assertWritesPresent(t, platform, tenant.id, report, 'after two moves');
  const rows = await rowsAt(platform, placementOf(final), tenant.id);
  t.equal(rows === 'gone' ? -1 : rows.users, 3, 'the seeded users came along');
});
