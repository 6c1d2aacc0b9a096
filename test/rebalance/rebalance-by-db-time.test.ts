/**
 * Rebalancing by database time, through the admin API over real HTTP: two servers holding as many
 * tenants each (of every tier), load generated through the tenant API so the usage accounting
 * measures it, and the plan moves the heavy tenants to even the measured time out; applied, the
 * move is audited under the admin. Bad input is refused naming the field, and only platform admins
 * reach the route.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startTestPlatform, testApp } from '../helper.js';
import { startExtraServer } from '../support/extra-server.js';
import { liveApi } from '../support/live-api.js';
import { testSecrets } from '../support/test-secrets.js';

t.setTimeout(300_000);
// Windows flushed only when the test asks; moves clean up their source after a short grace.
const platform = await startTestPlatform(t, { STRATA_USAGE_FLUSH_MS: '600000', STRATA_SPARE_SCHEMAS: '0', STRATA_MOVE_GRACE_MS: '500' });
await startExtraServer(t, platform, 'second');
const api = await liveApi(t, await testApp(t, platform));
const admin = (await api('POST', '/admin/auth/login', { body: { email: platform.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD } })).body
  .accessToken as string;

interface Made {
  id: string;
  slug: string;
  token: string;
}
async function tenant(slug: string, tier: string, server: string): Promise<Made> {
  const created = await api('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan: 'business', tier, server, owner: { email: `owner@${slug}.example`, name: 'Owner' } },
  });
  if (created.status !== 201) throw new Error(`${slug}: ${JSON.stringify(created.body)}`);
  const login = await api('POST', '/auth/login', { body: { email: `owner@${slug}.example`, password: created.body.owner.password } });
  return { id: created.body.tenant.id, slug, token: login.body.accessToken };
}

// Three tenants on each server, one of every tier: even by count. The heavy ones are both on default.
const heavy = [await tenant('heavy-pooled', 'pooled', 'default'), await tenant('heavy-schema', 'schema', 'default')];
const light = [
  await tenant('light-dedicated', 'dedicated', 'default'),
  await tenant('light-pooled', 'pooled', 'second'),
  await tenant('light-schema', 'schema', 'second'),
  await tenant('light-dedicated-2', 'dedicated', 'second'),
];
const serverOf = async (id: string) => (await platform.catalog.tenant.findUniqueOrThrow({ where: { id }, include: { server: true } })).server.name;

/** `n` writes and reads through the tenant API, four at once. */
async function load(tenant: Made, n: number) {
  await Promise.all(
    Array.from({ length: 4 }, async (_, caller) => {
      for (let i = caller; i < n; i += 4) {
        const res =
          i % 2
            ? await api('GET', '/leads?limit=50', { token: tenant.token })
            : await api('POST', '/leads', { token: tenant.token, body: { name: `lead ${i}` } });
        if (res.status >= 300) throw new Error(`${tenant.slug}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }),
  );
}

const plan = (body: Record<string, unknown>) => api('POST', '/admin/rebalance', { token: admin, body });

t.test('without measured load there is nothing to even out by dbTime', async (t) => {
  await platform.catalog.tenantLoad.deleteMany();
  const res = await plan({ by: 'dbTime', window: '1h' });
  t.equal(res.status, 409);
  t.equal(res.body.code, 'STRATA_REBALANCE_UNMEASURED');
});

t.test('the plan by dbTime moves a heavy tenant where the tenant count is already even', async (t) => {
  for (const x of heavy) await load(x, 240);
  for (const x of light) await load(x, 6);
  await platform.load.flush();

  const byCount = await plan({ by: 'tenants' });
  t.equal(byCount.status, 200, JSON.stringify(byCount.body));
  t.same(byCount.body.moves, [], 'three and three: even by count');

  const res = await plan({ by: 'dbTime', window: '1h', maxMoves: 5 });
  t.equal(res.status, 200, JSON.stringify(res.body));
  const planned = res.body;
  t.match(planned, { by: 'dbTime', windowMs: 3_600_000, dryRun: true });
  const before = Object.fromEntries(planned.before.map((s: { server: string; value: number }) => [s.server, s.value]));
  t.ok(before.default > 3 * before.second, `measured: default ${Math.round(before.default)} ms, second ${Math.round(before.second)} ms`);
  t.ok(planned.moves.length >= 1, `${planned.moves.length} move(s)`);
  t.ok(['heavy-pooled', 'heavy-schema'].includes(planned.moves[0].slug), `the first move takes a heavy tenant (${planned.moves[0].slug})`);
  t.match(planned.moves[0], { from: 'default', to: 'second' });
  t.ok(planned.spreadAfter < planned.spreadBefore / 2, `spread ${planned.spreadBefore.toFixed(2)} → ${planned.spreadAfter.toFixed(2)}`);
  t.equal(await platform.catalog.tenantMove.count(), 0, 'a dry run moves nothing');
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'server.rebalance' } }), 0, 'nor is it audited as a run');
});

t.test('applied through the API, the moves run in the background and are audited under the admin', async (t) => {
  const started = await plan({ by: 'dbTime', window: '1h', maxMoves: 5, dryRun: false, concurrency: 2 });
  t.equal(started.status, 202, JSON.stringify(started.body));
  t.equal(started.headers.get('location'), '/admin/rebalance');
  const again = await plan({ by: 'dbTime', dryRun: false });
  t.equal(again.status, 409, 'one run at a time');
  t.equal(again.body.code, 'STRATA_REBALANCE_RUNNING');

  let status = (await api('GET', '/admin/rebalance', { token: admin })).body;
  const deadline = Date.now() + 120_000;
  while (status.running && Date.now() < deadline) {
    await sleep(300);
    status = (await api('GET', '/admin/rebalance', { token: admin })).body;
  }
  t.match(status, { running: false, lastRun: { moved: started.body.moves.length, failed: [], error: null } });
  for (const move of started.body.moves) t.equal(await serverOf(move.tenantId), move.to, `${move.slug} is on ${move.to}`);
  const adminId = (await platform.catalog.adminAccount.findFirstOrThrow()).id;
  const audit = await platform.catalog.adminAuditEvent.findMany({ where: { action: 'server.rebalance' } });
  t.equal(audit.length, 1);
  t.match(audit[0], { adminId, details: { by: 'dbTime', windowMs: 3_600_000, moves: started.body.moves.map((m: { slug: string }) => ({ slug: m.slug })) } });
  t.equal(
    await platform.catalog.adminAuditEvent.count({ where: { action: 'tenant.move.request', adminId } }),
    started.body.moves.length,
    'each move requested by the admin',
  );
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'tenant.move.succeeded' } }), started.body.moves.length, 'and recorded as done');

  // A tenant's measured time goes with it: the same window now plans nothing.
  const after = await plan({ by: 'dbTime', window: '1h' });
  t.same(after.body.moves, [], `no move left that helps: spread ${after.body.spreadBefore.toFixed(2)}`);
  for (const x of [...heavy, ...light]) t.equal((await api('GET', '/leads?limit=1', { token: x.token })).status, 200, `${x.slug} is served`);
});

t.test('bad input is refused naming the field, and nothing is planned or moved', async (t) => {
  const moves = await platform.catalog.tenantMove.count();
  const cases: [Record<string, unknown>, string][] = [
    [{ by: 'cpu' }, 'body.by'],
    [{ maxMoves: -1 }, 'body.maxMoves'],
    [{ maxMoves: 1.5 }, 'body.maxMoves'],
    [{ tolerance: 'a lot' }, 'body.tolerance'],
    [{ window: 'an hour' }, 'body.window'],
    [{ by: 'dbTime', window: '90d' }, 'body.window'],
    [{ concurrency: 0 }, 'body.concurrency'],
    [{ dryRun: 'no' }, 'body.dryRun'],
    [{ force: true }, 'body'],
  ];
  for (const [body, field] of cases) {
    const res = await plan(body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.equal(res.body.code, 'STRATA_REQUEST_INVALID');
    t.ok(
      res.body.errors.some((e: { field: string }) => e.field === field || (field === 'body' && e.field.startsWith('body'))),
      `${JSON.stringify(body)} names ${field}: ${JSON.stringify(res.body.errors)}`,
    );
  }
  t.equal(await platform.catalog.tenantMove.count(), moves);
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'server.rebalance' } }), 1, 'no further run recorded');
});

t.test('only platform admins reach it: no token, a tenant owner of any tier', async (t) => {
  t.equal((await api('POST', '/admin/rebalance', { body: {} })).status, 401);
  t.equal((await api('GET', '/admin/rebalance')).status, 401);
  for (const x of [...heavy, ...light]) {
    t.equal((await api('POST', '/admin/rebalance', { token: x.token, body: { dryRun: false } })).status, 401, `${x.slug}'s owner is refused`);
  }
});
