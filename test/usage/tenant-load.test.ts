/**
 * Per-tenant load through the public API on every tier: real logins, requests that read and write,
 * the windows flushed to the catalog, then read back by a platform admin as a series and a fleet
 * ranking and the fleet's series. One tenant's load never shows in another's, and tenant tokens reach none of it.
 */
import pg from 'pg';
import t from 'tap';
import { adminUrl, startTestPlatform, testApp, tiers } from '../helper.js';
import { adminLogin, frontDoor } from '../support/front-door.js';

// One-second windows; flushes only when the test asks, footprints measured every 200 ms.
const platform = await startTestPlatform(t, {
  STRATA_USAGE_WINDOW_MS: '1000',
  STRATA_USAGE_FLUSH_MS: '600000',
  STRATA_USAGE_FOOTPRINT_MS: '200',
  STRATA_SPARE_SCHEMAS: '0',
});
const call = await frontDoor(await testApp(t, platform));
const admin = await adminLogin(call);

async function tenantWithOwner(slug: string, tier: string) {
  const created = await call('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan: 'business', tier, owner: { email: `owner@${slug}.example`, name: 'Owner' } },
  });
  if (created.status !== 201) throw new Error(`${slug}: ${created.status} ${JSON.stringify(created.json)}`);
  const login = await call('POST', '/auth/login', { body: { email: `owner@${slug}.example`, password: created.json.owner.password } });
  return { id: created.json.tenant.id as string, token: login.json.accessToken as string };
}

const sum = (points: Record<string, number | null>[], key: string) => points.reduce((n, p) => n + Number(p[key] ?? 0), 0);

t.test('each tenant’s requests, latency and footprint are its own, on every tier', async (t) => {
  const tenants = [];
  for (const tier of tiers) {
    const busy = await tenantWithOwner(`busy-${tier}`, tier);
    const quiet = await tenantWithOwner(`quiet-${tier}`, tier);
    for (let i = 0; i < 6; i++) t.equal((await call('POST', '/leads', { token: busy.token, body: { name: `Lead ${i}` } })).status, 201);
    for (let i = 0; i < 4; i++) t.equal((await call('GET', '/leads', { token: busy.token })).status, 200);
    t.equal((await call('GET', '/leads', { token: quiet.token })).status, 200);
    tenants.push({ tier, busy, quiet });
  }
  // Footprints are measured in the background; then every window goes to the catalog.
  await new Promise((resolve) => setTimeout(resolve, 600));
  await platform.load.flush();

  for (const { tier, busy, quiet } of tenants) {
    const mine = await call('GET', `/admin/tenants/${busy.id}/usage?span=5m&step=1s`, { token: admin });
    t.equal(mine.status, 200, tier);
    t.equal(mine.json.points.length, 300, `${tier}: one point per second of the span`);
    t.equal(sum(mine.json.points, 'requests'), 10, `${tier}: the busy tenant’s own requests`);
    t.ok(sum(mine.json.points, 'rowsWritten') >= 6, `${tier}: its rows written (its leads at least)`);
    t.ok(sum(mine.json.points, 'statements') >= 10 && sum(mine.json.points, 'dbTimeMs') > 0, `${tier}: its statements and database time`);
    const measured = mine.json.points.filter((p: { storageBytes: number | null }) => p.storageBytes !== null);
    const busyRows = measured.at(-1)?.rowsTotal;
    t.ok(busyRows >= 6, `${tier}: its rows were measured (${busyRows})`);
    t.ok(
      mine.json.points.some((p: { p99Ms: number | null }) => p.p99Ms !== null),
      `${tier}: a p99 where it had requests`,
    );

    const theirs = await call('GET', `/admin/tenants/${quiet.id}/usage?span=5m&step=1m`, { token: admin });
    t.equal(theirs.json.points.length, 5);
    t.equal(sum(theirs.json.points, 'requests'), 1, `${tier}: the quiet tenant’s series holds none of the busy one’s requests`);
    t.ok(sum(theirs.json.points, 'rowsWritten') < 6, `${tier}: nor its writes`);
    const quietRows = theirs.json.points.filter((p: { rowsTotal: number | null }) => p.rowsTotal !== null).at(-1)?.rowsTotal;
    t.ok(quietRows === undefined || quietRows < busyRows, `${tier}: nor its rows (${quietRows} beside ${busyRows})`);

    for (const path of [`/admin/tenants/${busy.id}/usage`, '/admin/usage/top', '/admin/usage/fleet']) {
      t.equal((await call('GET', path, { token: busy.token })).status, 401, `${tier}: a tenant token cannot read ${path}`);
    }
  }

  const top = await call('GET', '/admin/usage/top?by=requests&window=5m&limit=6', { token: admin });
  t.equal(top.status, 200);
  t.same(
    top.json.items
      .slice(0, 3)
      .map((i: { tenantId: string }) => i.tenantId)
      .sort(),
    tenants.map((x) => x.busy.id).sort(),
    'the busy tenants rank first, across tiers',
  );
  t.same(
    top.json.items.slice(3).map((i: { requests: number }) => i.requests),
    [1, 1, 1],
  );
  const fleet = await call('GET', '/admin/usage/fleet?span=5m&step=1m', { token: admin });
  t.equal(fleet.status, 200);
  t.equal(fleet.json.points.length, 5);
  t.equal(sum(fleet.json.points, 'requests'), 33, 'the fleet’s series sums every tenant’s requests, on every tier');
  t.ok(
    sum(fleet.json.points, 'dbTimeMs') >
      sum((await call('GET', `/admin/tenants/${tenants[0]!.busy.id}/usage?span=5m&step=1m`, { token: admin })).json.points, 'dbTimeMs'),
  );
  t.notOk('rowsTotal' in fleet.json.points[0], 'no summed footprint, which would mean nothing');
  const badSpan = await call('GET', '/admin/usage/fleet?span=9999d', { token: admin });
  t.equal(badSpan.status, 400);
  t.match(JSON.stringify(badSpan.json), /querystring\.span/);
  const bad = await call('GET', '/admin/usage/top?by=cpu', { token: admin });
  t.equal(bad.status, 400);
  const badStep = await call('GET', `/admin/tenants/${tenants[0]!.busy.id}/usage?step=1500ms`, { token: admin });
  t.equal(badStep.status, 400);
  t.match(JSON.stringify(badStep.json), /querystring\.step/);
});

t.test('tenant connections name their tier and server in pg_stat_activity', async (t) => {
  const dba = new pg.Client({ connectionString: adminUrl() });
  await dba.connect();
  t.teardown(() => dba.end());
  const expected = { pooled: 'strata:pooled+schema:default', schema: 'strata:pooled+schema:default', dedicated: 'strata:dedicated:default' };
  for (const tier of tiers) {
    const row = await platform.catalog.tenant.findFirstOrThrow({ where: { slug: `busy-${tier}` } });
    await platform.router.clientFor(row).lead.count();
    const { rows } = await dba.query(`SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = $1 AND usename = $2`, [
      row.databaseName,
      platform.config.database.runtime.role,
    ]);
    t.same(
      rows.map((r) => r.application_name),
      [expected[tier]],
      tier,
    );
  }
});
