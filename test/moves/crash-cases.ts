/**
 * Crash tests of tier moves: the runner is killed (SIGKILL, in its own process) at a chosen point
 * while the tenant keeps writing. Throughout, the tenant must be served from exactly one place;
 * resumed, the move completes with every acknowledged write on the target; killed before the
 * switch and then cancelled, it rolls back and the tenant stays where it was, writable, untouched.
 * Split over several files (by kill point) so each stays within the per-file time limit.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { isFenced } from '../../src/moves/change-capture.js';
import { requestCancel, requestMove, type TenantMove } from '../../src/moves/move-jobs.js';
import { withLocation } from '../../src/moves/move-locations.js';
import { runMove } from '../../src/moves/run-move.js';
import type { Platform } from '../../src/platform/platform.js';
import type { Tier } from '../../src/tenants/placement.js';
import { provision, startTestPlatform } from '../helper.js';
import { seedTenantRows } from '../support/tenant-rows.js';
import { assertWritesPresent, placementOf, rowsAt, startWriteLoop } from './move-support.js';

/** Runs the job in a child process that kills itself at `killAt`; resolves with how it ended. */
function runAndKill(platform: Platform, jobId: string, killAt: string): Promise<NodeJS.Signals | number | null> {
  const child = spawn(
    process.execPath,
    ['--import=tsx', 'test/fixtures/run-move.ts', JSON.stringify({ prefix: platform.config.database.prefix, jobId, killAt })],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: process.env,
    },
  );
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

/** Exactly one place serves the tenant: the catalog's, and the other end takes no writes from a router. */
async function assertServedOnce(t: Test, platform: Platform, job: TenantMove) {
  const tenant = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: job.tenantId } });
  const atSource = tenant.databaseName === job.fromDatabase && tenant.schemaName === job.fromSchema && tenant.serverId === job.fromServerId;
  const atTarget = tenant.databaseName === job.toDatabase && tenant.schemaName === job.toSchema && tenant.serverId === job.toServerId;
  t.ok(atSource !== atTarget, 'the catalog routes the tenant to exactly one of the two ends');
  if (atTarget) {
    const source = { tier: job.fromTier, serverId: job.fromServerId, schema: job.fromSchema, database: job.fromDatabase };
    const gone = (await rowsAt(platform, source, job.tenantId)) === 'gone';
    t.ok(gone || (await withLocation(platform, source, (c) => isFenced(c, job.fromSchema, job.tenantId))), 'after the switch the source is fenced or gone');
  }
}

/** Kill points in order: each phase as it starts (recorded, not yet run), and `copy-rows` mid-copy. */
export const killPoints = ['prepare', 'capture', 'copy', 'copy-rows', 'catchup', 'verify', 'fence', 'final', 'flip', 'invalidate', 'cleanup', 'done'];
const routes: [Tier, Tier][] = [
  ['pooled', 'dedicated'],
  ['schema', 'pooled'],
  ['dedicated', 'schema'],
];

/** Kill at each of `points`, resume, and check nothing was lost; the direction varies by kill point. */
export async function killAndResume(t: Test, points: string[]) {
  const platform = await startTestPlatform(t);
  for (const killAt of points) {
    const i = killPoints.indexOf(killAt);
    const [from, to] = routes[i % routes.length]!;
    await t.test(`killed at ${killAt} (${from} → ${to}): resumed, the move completes and loses nothing`, async (t) => {
      const tenant = await provision(platform, from, `kill-${i}`);
      await seedTenantRows(platform, tenant, 200);
      const writes = startWriteLoop(platform, tenant.id, { pauseMs: 2 });
      const job = await requestMove(platform, { tenantId: tenant.id, targetTier: to, requestedBy: null });
      t.equal(await runAndKill(platform, job.id, killAt), 'SIGKILL', 'the runner was killed');
      const recorded = await platform.catalog.tenantMove.findUniqueOrThrow({ where: { id: job.id } });
      t.equal(recorded.status, 'running', `left running in phase ${recorded.phase}`);
      await assertServedOnce(t, platform, recorded);
      await sleep(100);
      const finished = await runMove(platform, job.id, { graceMs: 100 });
      const report = await writes.stop();
      t.equal(finished.status, 'succeeded', finished.error ?? 'resumed to success');
      await assertServedOnce(t, platform, finished);
      await assertWritesPresent(t, platform, tenant.id, report, `killed at ${killAt}`);
      const left = await rowsAt(platform, placementOf(tenant), tenant.id);
      t.ok(left === 'gone' || Object.values(left).every((n) => n === 0), 'nothing of the tenant is left at the source');
    });
  }
}

/** Kill at each of `points` (before the switch), cancel, resume: rolled back, nothing changed. */
export async function killAndCancel(t: Test, points: string[]) {
  const platform = await startTestPlatform(t);
  for (const killAt of points) {
    await t.test(`killed at ${killAt}, then cancelled: rolled back, the tenant is where it was and writable`, async (t) => {
      const tenant = await provision(platform, 'pooled', `cancel-${killAt}`);
      await seedTenantRows(platform, tenant, 200);
      const writes = startWriteLoop(platform, tenant.id, { pauseMs: 2 });
      const job = await requestMove(platform, { tenantId: tenant.id, targetTier: 'schema', requestedBy: null });
      t.equal(await runAndKill(platform, job.id, killAt), 'SIGKILL');
      await requestCancel(platform.catalog, job.id, null);
      const finished = await runMove(platform, job.id);
      const report = await writes.stop();
      t.match(finished, { status: 'cancelled', phase: 'rollback', activeTenantId: null });
      const after = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
      t.match(after, { tier: 'pooled', status: 'active', schemaName: tenant.schemaName, databaseName: tenant.databaseName, version: tenant.version });
      t.equal(
        await rowsAt(platform, { tier: 'schema', serverId: job.toServerId, schema: job.toSchema, database: job.toDatabase }, tenant.id),
        'gone',
        'the target is removed',
      );
      t.notOk(await withLocation(platform, placementOf(tenant), (c) => isFenced(c, tenant.schemaName, tenant.id)), 'the source is no longer fenced');
      await assertWritesPresent(t, platform, tenant.id, report, 'rolled back');
    });
  }
}
