/**
 * Placement by capacity: a new tenant goes to the active server with the lowest weighted load of
 * its tier (ties: all tiers, then the name), never past a cap or to a cordoned, draining or down
 * server; naming a server forces the choice within those limits. States, weights and caps are set
 * through the admin API and `npm run server`, audited; concurrent provisionings never overshoot a cap.
 */
import t from 'tap';
import { adminUrl, startTestPlatform, testApp } from '../helper.js';
import { liveApi } from '../support/live-api.js';
import { runScript } from '../support/run-script.js';
import { testSecrets } from '../support/test-secrets.js';

t.setTimeout(360_000);
const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const api = await liveApi(t, await testApp(t, platform));
const prefix = platform.config.database.prefix;
// The "servers" are further tenants databases on the test PostgreSQL: placement only needs distinct registrations.
process.env.CELL_SUPERUSER_PASSWORD = decodeURIComponent(new URL(adminUrl()).password) || 'unused-with-trust';
const server = (...args: string[]) => runScript('server', args, { DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: prefix, REDIS_URL: '' });
const admin = (await api('POST', '/admin/auth/login', { body: { email: platform.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD } })).body
  .accessToken as string;

const cell = (name: string, extra: Record<string, unknown> = {}) =>
  api('POST', '/admin/servers', {
    token: admin,
    body: {
      name,
      host: '127.0.0.1',
      port: Number(new URL(adminUrl()).port || 5432),
      tenantsDatabase: `${prefix}_${name.replace('-', '_')}`,
      bootstrap: { secretRef: 'env:CELL_SUPERUSER_PASSWORD' },
      ...extra,
    },
  });
let made = 0;
const create = (tier: string, serverName?: string) =>
  api('POST', '/admin/tenants', {
    token: admin,
    body: {
      slug: `placed-${++made}`,
      name: `Placed ${made}`,
      plan: 'free',
      tier,
      ...(serverName && { server: serverName }),
      owner: { email: `owner@placed-${made}.example`, name: 'Owner' },
    },
  });
const placedOn = async (tier: string) => {
  const res = await create(tier);
  if (res.status !== 201) return `${res.status} ${res.body.code}`;
  return (await api('GET', `/admin/tenants/${res.body.tenant.id}`, { token: admin })).body.placement.server as string;
};
const listing = async () => {
  const { body } = await api('GET', '/admin/servers', { token: admin });
  return Object.fromEntries(body.items.map((s: { name: string }) => [s.name, s])) as Record<string, Record<string, unknown>>;
};

t.test('the CLI sets states and capacity; new tenants go where there is most room, deterministically', async (t) => {
  const cordon = await server('state', 'default', 'cordoned');
  t.equal(cordon.code, 0, cordon.stderr);
  t.match(JSON.parse(cordon.stdout), { name: 'default', state: 'cordoned', acceptsNewTenants: false });
  t.equal((await cell('cell-a')).status, 201);
  t.equal((await cell('cell-b', { weight: 2, maxSchemaTenants: 1 })).status, 201);

  // Equal loads: the name decides; then weight 2 takes two tenants for each of weight 1's.
  t.same([await placedOn('pooled'), await placedOn('pooled'), await placedOn('pooled'), await placedOn('pooled')], ['cell-a', 'cell-b', 'cell-b', 'cell-a']);
  // cell-b has less load overall (2/2 against 2/1), until its cap of one schema tenant.
  t.same([await placedOn('schema'), await placedOn('schema'), await placedOn('schema')], ['cell-b', 'cell-a', 'cell-a']);

  const servers = await listing();
  t.match(servers['cell-b'], {
    state: 'active',
    weight: 2,
    maxSchemaTenants: 1,
    tenants: { pooled: 2, schema: 1, dedicated: 0 },
    headroom: { pooled: null, schema: 0 },
  });
  t.match(servers.default, { state: 'cordoned', operatorState: 'cordoned', health: { up: true } });

  const listed = await server('list');
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /^cell-b\s+.*\sACTIVE\s+weight 2 tenants 2 pooled, 1 schema \(room 0\), 0 dedicated$/m);
  t.match(listed.stdout, /^default\s+.*\sCORDONED\s/m);
});

t.test('a named server is forced past the ranking, never past a cap or a state', async (t) => {
  const full = await create('schema', 'cell-b');
  t.equal(full.status, 409);
  t.equal(full.body.code, 'STRATA_SERVER_FULL');
  const cordoned = await create('pooled', 'default');
  t.equal(cordoned.status, 409);
  t.equal(cordoned.body.code, 'STRATA_SERVER_CORDONED');
  t.match(cordoned.body.detail, /default is cordoned/);
  const forced = await create('pooled', 'cell-a');
  t.equal(forced.status, 201, 'cell-a is not the first choice for pooled, but named');

  const draining = await api('PUT', '/admin/servers/cell-a/state', { token: admin, body: { state: 'draining' } });
  t.equal(draining.status, 200);
  t.equal(draining.body.state, 'draining');
  t.equal(await placedOn('schema'), '409 STRATA_SERVER_NONE_AVAILABLE', 'cell-b full for schema, cell-a draining, default cordoned');
  t.equal(await placedOn('pooled'), 'cell-b');
  const named = await create('pooled', 'cell-a');
  t.equal(named.body.code, 'STRATA_SERVER_CORDONED');
  t.match(named.body.detail, /cell-a is draining/);
  t.same(
    (await platform.catalog.adminAuditEvent.findMany({ where: { action: { startsWith: 'server.' } }, orderBy: { at: 'asc' } })).map((e) => e.action),
    ['server.cordon', 'server.add', 'server.add', 'server.drain'],
  );
});

t.test('bad states and capacity are a 400 naming the field, and change nothing', async (t) => {
  // Health probes may record storage meanwhile: the operator's settings are compared.
  const settings = () =>
    platform.catalog.databaseServer.findUniqueOrThrow({
      where: { name: 'cell-b' },
      select: { state: true, weight: true, maxPooledTenants: true, maxSchemaTenants: true, updatedAt: true },
    });
  const before = await settings();
  const down = await api('PUT', '/admin/servers/cell-b/state', { token: admin, body: { state: 'down' } });
  t.equal(down.status, 400);
  t.same(
    down.body.errors.map((e: { field: string }) => e.field),
    ['body.state'],
  );
  const caps = await api('PATCH', '/admin/servers/cell-b', { token: admin, body: { weight: 0, maxPooledTenants: -1 } });
  t.equal(caps.status, 400);
  t.same(caps.body.errors.map((e: { field: string }) => e.field).sort(), ['body.maxPooledTenants', 'body.weight']);
  const cli = await server('update', 'cell-b', '--weight', 'lots');
  t.equal(cli.code, 64);
  t.match(cli.stderr, /--weight: /);
  t.same(await settings(), before);
  t.equal((await api('PUT', '/admin/servers/nowhere/state', { token: admin, body: { state: 'active' } })).status, 404);
});

t.test('simultaneous provisionings fill a cap exactly, never past it', async (t) => {
  await api('PUT', '/admin/servers/cell-a/state', { token: admin, body: { state: 'active' } });
  await api('POST', '/admin/servers/cell-b/cordon', { token: admin });
  const held = (await listing())['cell-a']!.tenants as { pooled: number };
  const patched = await api('PATCH', '/admin/servers/cell-a', { token: admin, body: { maxPooledTenants: held.pooled + 3 } });
  t.equal(patched.status, 200, JSON.stringify(patched.body));
  const answers = await Promise.all(Array.from({ length: 8 }, () => create('pooled')));
  t.same(answers.map((a) => a.status).sort(), [201, 201, 201, 409, 409, 409, 409, 409]);
  t.ok(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'STRATA_SERVER_NONE_AVAILABLE'));
  t.match((await listing())['cell-a'], { tenants: { pooled: held.pooled + 3 }, headroom: { pooled: 0 } });
});

t.test('a server is removed only once it holds nothing', async (t) => {
  const refused = await server('remove', 'cell-a');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /refused, nothing recorded: cell-a still holds \d+ active/);
  t.equal((await cell('cell-c')).status, 201);
  const removed = await api('DELETE', '/admin/servers/cell-c', { token: admin });
  t.equal(removed.status, 204);
  t.notOk((await listing())['cell-c']);
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'server.remove' } }), 1);
  const home = await api('DELETE', '/admin/servers/default', { token: admin });
  t.equal(home.status, 409);
  t.equal(home.body.code, 'STRATA_SERVER_NOT_EMPTY');
});
