/**
 * Regression: server rows were cached for the life of the process, so a changed endpoint (a pooler
 * moved, a failover) never reached an API instance that had connected once. Two instances share the
 * installation; tenant traffic to a server goes through a pooler that is then replaced.
 */
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { startPlatform } from '../../src/platform/platform.js';
import { startTestPlatform, testApp } from '../helper.js';
import { startPrivatePostgres } from '../support/extra-server.js';
import { freePort } from '../../src/platform/throwaway-postgres.js';
import { type LiveApi, liveApi } from '../support/live-api.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { testSecrets } from '../support/test-secrets.js';

/** Polls until `request` answers `status`, for at most `ms`; returns how long it took (or -1). */
async function within(ms: number, status: number, request: () => Promise<{ status: number }>) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if ((await request()).status === status) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  return -1;
}

async function scenario(t: Test, overrides: Record<string, string>, obeyedWithinMs: number) {
  const first = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0', ...overrides });
  // A second API instance: same installation (catalog, databases, Redis channel), its own caches and pools.
  const second = await startPlatform(first.config, pino({ level: 'silent' }));
  t.teardown(() => second.close());
  const adminApi = await liveApi(t, await testApp(t, first));
  const otherApi: LiveApi = await liveApi(t, await testApp(t, second));
  const far = await startPrivatePostgres(t, 'moving');
  process.env.MOVING_SUPERUSER_PASSWORD = decodeURIComponent(new URL(far.url).password);
  const pooler = await startTcpProxy(t, far.port);

  const { body: login } = await adminApi('POST', '/admin/auth/login', {
    body: { email: first.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD },
  });
  const admin = login.accessToken as string;
  const added = await adminApi('POST', '/admin/servers', {
    token: admin,
    body: {
      name: 'moving',
      host: '127.0.0.1',
      port: far.port,
      runtimeHost: '127.0.0.1',
      runtimePort: pooler.port,
      bootstrap: { secretRef: 'env:MOVING_SUPERUSER_PASSWORD' },
    },
  });
  t.equal(added.status, 201, JSON.stringify(added.body));
  const created = await adminApi('POST', '/admin/tenants', {
    token: admin,
    body: { slug: 'mover', name: 'Mover', plan: 'enterprise', server: 'moving', owner: { email: 'owner@mover.example', name: 'Owner' } },
  });
  t.equal(created.status, 201);
  const session = await otherApi('POST', '/auth/login', { body: { email: 'owner@mover.example', password: created.body.owner.password } });
  const leads = () => otherApi('GET', '/leads', { token: session.body.accessToken });
  t.equal((await leads()).status, 200, 'served by the other instance, through the pooler');

  const closed = await freePort();
  const refused = await adminApi('PATCH', '/admin/servers/moving', { token: admin, body: { runtimePort: closed } });
  t.equal(refused.status, 422, 'an endpoint that does not answer is refused');
  t.same(
    refused.body.errors.map((e: { field: string }) => e.field),
    ['body.runtimeHost', 'body.runtimePort'],
  );
  t.equal((await first.catalog.databaseServer.findUniqueOrThrow({ where: { name: 'moving' } })).runtimePort, pooler.port, 'and changes nothing');

  // The pooler is replaced: tenant traffic goes straight to the server from now on.
  const moved = await adminApi('PATCH', '/admin/servers/moving', { token: admin, body: { runtimePort: far.port } });
  t.equal(moved.status, 200, JSON.stringify(moved.body));
  await pooler.close();
  const after = await within(obeyedWithinMs, 200, leads);
  t.ok(after >= 0, `the other instance follows the new endpoint after ${after} ms`);
  t.equal((await second.servers.byId(moved.body.id)).runtimePort, far.port);
  t.equal(await first.catalog.adminAuditEvent.count({ where: { action: 'server.update' } }), 1, 'the change is audited, the refusal is not');
}

t.setTimeout(360_000);

t.test('with Redis, a changed endpoint reaches the other instance within a second', { skip: skipWithout(optionalTools.redis) }, (t) =>
  scenario(t, { REDIS_URL: process.env.REDIS_URL! }, 1000),
);

t.test('without Redis, within the catalog cache period', (t) => scenario(t, { REDIS_URL: '', STRATA_CATALOG_CACHE_MS: '300' }, 1500));
