/**
 * Tier moves in every direction while the tenant keeps writing: afterwards every acknowledged write
 * is on the target exactly once, the source holds nothing of the tenant, and a neighbour on the
 * source tier wrote throughout without a single error or refusal.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { requestMove } from '../../src/moves/move-jobs.js';
import { runMove } from '../../src/moves/run-move.js';
import type { Tier } from '../../src/tenants/placement.js';
import { provision, startTestPlatform } from '../helper.js';
import { seedTenantRows, seededCounts } from '../support/tenant-rows.js';
import { assertWritesPresent, distinctTenantIds, foreignKeysAt, placementOf, rowsAt, startWriteLoop } from './move-support.js';

const platform = await startTestPlatform(t);

const directions: [Tier, Tier][] = [
  ['pooled', 'schema'],
  ['schema', 'dedicated'],
  ['dedicated', 'pooled'],
  ['pooled', 'dedicated'],
  ['schema', 'pooled'],
  ['dedicated', 'schema'],
];

for (const [from, to] of directions) {
  t.test(`${from} → ${to} with creates, updates and deletes running`, async (t) => {
    const label = `${from.slice(0, 2)}-${to.slice(0, 2)}`;
    const tenant = await provision(platform, from, `mv-${label}`);
    const neighbour = await provision(platform, from, `nb-${label}`);
    await seedTenantRows(platform, tenant, 400);
    await seedTenantRows(platform, neighbour, 100);
    const neighbourBefore = await rowsAt(platform, placementOf(neighbour), neighbour.id);

    const writes = startWriteLoop(platform, tenant.id);
    const neighbourWrites = startWriteLoop(platform, neighbour.id, { pauseMs: 5 });
    await sleep(150);
    const job = await requestMove(platform, { tenantId: tenant.id, targetTier: to, requestedBy: null });
    const phases: string[] = [];
    const finished = await runMove(platform, job.id, { graceMs: 300, onPhase: (p) => void phases.push(p) });
    await sleep(150);
    const report = await writes.stop();
    const neighbourReport = await neighbourWrites.stop();

    t.equal(finished.status, 'succeeded', finished.error ?? 'the move succeeded');
    t.same(phases, ['prepare', 'capture', 'copy', 'catchup', 'verify', 'fence', 'final', 'flip', 'invalidate', 'cleanup', 'done']);
    const moved = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
    t.match(moved, { tier: to, status: 'active', version: tenant.version + 1, serverId: tenant.serverId });
    t.ok(report.writes > 10, `the tenant kept writing during the move (${report.writes} writes, ${report.fenced} refused by the fence)`);
    await assertWritesPresent(t, platform, tenant.id, report, 'moved tenant');

    const seeded = seededCounts(400);
    const at = await rowsAt(platform, placementOf(moved), tenant.id);
    t.equal(at === 'gone' ? -1 : at.leads, seeded.leads + report.leads.size, 'seeded and written leads, nothing more');
    t.equal(at === 'gone' ? -1 : at.users, seeded.users, 'users as seeded');

    const left = await rowsAt(platform, placementOf(tenant), tenant.id);
    if (from === 'pooled')
      t.ok(left !== 'gone' && Object.values(left).every((n) => n === 0), `no row of the tenant left in the pooled tables: ${JSON.stringify(left)}`);
    else t.equal(left, 'gone', 'the source location is dropped');

    t.same(
      await foreignKeysAt(platform, placementOf(moved)),
      await foreignKeysAt(platform, placementOf(neighbour)),
      'the target has every foreign key, validated',
    );
    if (to === 'dedicated') t.same(await distinctTenantIds(platform.adminUrl, placementOf(moved)), [tenant.id], 'the dedicated target holds one tenant');

    t.same(neighbourReport.errors, [], 'the neighbour saw no errors');
    t.equal(neighbourReport.fenced, 0, 'the neighbour was never fenced');
    await assertWritesPresent(t, platform, neighbour.id, neighbourReport, 'neighbour');
    const neighbourAfter = await rowsAt(platform, placementOf(neighbour), neighbour.id);
    t.equal(
      neighbourAfter === 'gone' ? -1 : neighbourAfter.users,
      neighbourBefore === 'gone' ? -2 : neighbourBefore.users,
      'the neighbour’s rows are where they were',
    );
  });
}
