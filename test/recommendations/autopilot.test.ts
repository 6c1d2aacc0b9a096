/**
 * The autopilot on real advice: two pooled tenants load the API until both are advised up. An app
 * whose quiet hours exclude now starts nothing; one whose quiet hours include now, with a budget of
 * one move, starts exactly one, audited with the autopilot as its actor.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/config.js';
import { autopilotRound, inQuietHours } from '../../src/recommendations/autopilot.js';
import { startTestPlatform, testApp } from '../helper.js';
import { adminLogin, frontDoor } from '../support/front-door.js';

const platform = await startTestPlatform(t, {
  STRATA_USAGE_WINDOW_MS: '1000',
  STRATA_USAGE_FLUSH_MS: '600000',
  STRATA_USAGE_FOOTPRINT_MS: '600000',
  STRATA_SPARE_SCHEMAS: '0',
  STRATA_RATE_LIMIT_PLANS: 'free=1000000,starter=3000',
  // A window long enough for the whole test, and 30 requests a minute over it: both tenants stay advised up.
  STRATA_ADVICE_WINDOW_MS: '120000',
  STRATA_ADVICE_RATE_SHARE: '0.01',
});
const call = await frontDoor(await testApp(t, platform));
const admin = await adminLogin(call);

async function busyTenant(slug: string) {
  const created = await call('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan: 'starter', tier: 'pooled', owner: { email: `owner@${slug}.example`, name: 'Owner' } },
  });
  if (created.status !== 201) throw new Error(`${slug}: ${created.status} ${JSON.stringify(created.json)}`);
  const login = await call('POST', '/auth/login', { body: { email: `owner@${slug}.example`, password: created.json.owner.password } });
  for (let i = 0; i < 90; i++)
    if ((await call('GET', '/leads', { token: login.json.accessToken })).status !== 200) throw new Error(`${slug}: a request failed`);
  return created.json.tenant.id as string;
}

/** An app on the same platform whose autopilot may start moves in `hours` (UTC), looking every 200 ms. */
async function autopilotApp(hours: Config['autopilot']['hours']) {
  const config: Config = { ...platform.config, autopilot: { enabled: true, everyMs: 200, maxMoves: 1, hours } };
  const app = await buildApp({ config, platform });
  await app.ready();
  return app;
}

const hour = new Date().getUTCHours();
// Two hours from now (wrapping past midnight), and two hours that start three from now.
const now = { from: hour, to: (hour + 2) % 24 };
const later = { from: (hour + 3) % 24, to: (hour + 5) % 24 };

const candidates = [await busyTenant('busy-one'), await busyTenant('busy-two')];
await platform.load.flush();

t.test('quiet hours are UTC hours, wrapping past midnight', async (t) => {
  const at = (h: number) => new Date(Date.UTC(2026, 0, 1, h, 30));
  t.ok(inQuietHours({ from: 2, to: 5 }, at(2)) && inQuietHours({ from: 2, to: 5 }, at(4)));
  t.notOk(inQuietHours({ from: 2, to: 5 }, at(5)) || inQuietHours({ from: 2, to: 5 }, at(1)));
  t.ok(inQuietHours({ from: 22, to: 4 }, at(23)) && inQuietHours({ from: 22, to: 4 }, at(0)));
  t.notOk(inQuietHours({ from: 22, to: 4 }, at(12)));
  t.ok(inQuietHours({ from: 0, to: 24 }, at(23)), '0-24: the whole day');
  t.ok(inQuietHours(now, new Date()) && !inQuietHours(later, new Date()), 'the hours this test uses');
});

t.test('both tenants are advised up', async (t) => {
  const res = await call('GET', '/admin/recommendations?direction=up', { token: admin });
  t.same(res.json.items.map((r: { tenantId: string }) => r.tenantId).sort(), [...candidates].sort());
});

t.test('outside its quiet hours the autopilot starts no move', async (t) => {
  const app = await autopilotApp(later);
  await sleep(1500);
  await app.close();
  t.equal(await platform.catalog.tenantMove.count(), 0);
  // The core says why, without looking at the advice.
  const round = await autopilotRound(
    {
      catalog: platform.catalog,
      log: platform.log,
      recommendations: () => t.fail('advice read') as never,
      requestMove: () => t.fail('move') as never,
      startMove: () => undefined,
    },
    { maxMoves: 1, hours: later },
  );
  t.same(round, { started: [], idle: 'outside-quiet-hours' });
});

t.test('inside its quiet hours, with a budget of one, it starts exactly one move of the two and audits it as the autopilot', async (t) => {
  const app = await autopilotApp(now);
  t.teardown(() => app.close());
  let moves = 0;
  for (let waited = 0; waited < 20_000 && moves === 0; waited += 100) {
    await sleep(100);
    moves = await platform.catalog.tenantMove.count();
  }
  t.equal(moves, 1, 'a move was started');
  // Several more rounds: the budget is spent while that move runs (its old location is kept for the grace).
  await sleep(1500);
  const jobs = await platform.catalog.tenantMove.findMany();
  t.equal(jobs.length, 1, 'exactly one move for two candidates');
  const job = jobs[0]!;
  t.ok(candidates.includes(job.tenantId), 'of one of the advised tenants');
  t.match(job, { fromTier: 'pooled', toTier: 'schema', requestedBy: null });

  const trail = await call('GET', '/admin/audit?action=tenant.move.autopilot', { token: admin });
  t.equal(trail.status, 200);
  t.equal(trail.json.items.length, 1);
  t.match(trail.json.items[0], {
    adminId: null,
    tenantId: job.tenantId,
    details: { operator: 'autopilot', jobId: job.id, direction: 'up', from: { tier: 'pooled' }, to: { tier: 'schema' }, evidence: [{ signal: 'requestRate' }] },
  });
  const requests = await call('GET', `/admin/audit?action=tenant.move.request&tenantId=${job.tenantId}`, { token: admin });
  t.match(
    requests.json.items,
    [{ adminId: null, details: { jobId: job.id, operator: 'autopilot' } }],
    'beside the move’s own request entry, which names the autopilot too',
  );
});
