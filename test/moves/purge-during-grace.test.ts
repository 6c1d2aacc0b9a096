/**
 * Regression: a purge during a move's cleanup grace left the tenant's data behind. After the flip
 * the tenant is active again while the job waits STRATA_MOVE_GRACE_MS to drop the old location;
 * delete + purge were accepted then, the purge dropped the new location, the job row cascaded
 * away and the old location kept every row with no record of it anywhere. Driven only through the
 * admin HTTP API of a listening server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Tier } from '../../src/tenants/placement.js';
import { startTestPlatform } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';
import { decodeClaims } from '../support/live-api.js';
import { seedTenantRows } from '../support/tenant-rows.js';
import { placementOf, rowsAt } from './move-support.js';

// A grace far longer than the test: only the purge can end it.
const exports = await mkdtemp(join(tmpdir(), 'strata-purge-grace-'));
t.teardown(() => rm(exports, { recursive: true, force: true }));
const platform = await startTestPlatform(t, { STRATA_MOVE_GRACE_MS: '600000', STRATA_SPARE_SCHEMAS: '0', STRATA_PURGE_EXPORT_DIR: exports });
const { api, adminLogin } = await liveAdmin(t, platform);
const admin = await adminLogin();
t.equal(decodeClaims(admin).aud, platform.config.jwt.adminAudience, 'an admin token');
const call = (method: string, path: string, body?: unknown) => api(method, path, { token: admin, body });

const moves: [Tier, Tier][] = [
  ['pooled', 'schema'],
  ['schema', 'dedicated'],
  ['dedicated', 'pooled'],
];

for (const [from, to] of moves) {
  t.test(`${from} → ${to}: delete + purge during the grace removes the old location too`, async (t) => {
    const created = await call('POST', '/admin/tenants', {
      slug: `grace-${from}`,
      name: `Grace ${from}`,
      plan: 'free',
      tier: from,
      owner: { email: `owner@grace-${from}.example`, name: 'Owner' },
    });
    t.equal(created.status, 201, 'created');
    const tenantId = created.body.tenant.id as string;
    const before = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    await seedTenantRows(platform, before, 50);

    const move = await call('POST', `/admin/tenants/${tenantId}/moves`, { targetTier: to });
    t.equal(move.status, 202, 'move accepted');
    let job = move.body;
    for (let i = 0; i < 600 && job.phase !== 'cleanup'; i++) {
      await sleep(100);
      job = (await call('GET', `/admin/moves/${move.body.id}`)).body;
    }
    t.match(job, { phase: 'cleanup', status: 'running' }, 'the move waits out its grace');
    const old = await rowsAt(platform, placementOf(before), tenantId);
    t.ok(old !== 'gone' && old.leads === 50, 'the old location still holds the rows');

    t.equal((await call('DELETE', `/admin/tenants/${tenantId}`)).status, 200, 'deleted during the grace');
    const purged = await call('POST', `/admin/tenants/${tenantId}/purge`);
    t.equal(purged.status, 200, purged.status === 200 ? 'purged' : JSON.stringify(purged.body));

    const after = await platform.catalog.tenant.findUnique({ where: { id: tenantId } });
    t.equal(after, null, 'no catalog row');
    const left = await rowsAt(platform, placementOf(before), tenantId);
    t.ok(left === 'gone' || Object.values(left).every((n) => n === 0), `the old ${from} location is gone (${JSON.stringify(left)})`);
    const there = await rowsAt(platform, job.to, tenantId);
    t.ok(there === 'gone' || Object.values(there).every((n) => n === 0), `the new ${to} location is gone (${JSON.stringify(there)})`);
  });
}
