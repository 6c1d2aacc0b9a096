/**
 * A real second server is stopped and started. An instance whose tenant traffic fails to connect
 * marks it down at once (its periodic probe is an hour away); an instance probing periodically
 * marks it up when it answers and down again when it stops, with no traffic at all. While down,
 * nothing is placed there, its tenants get 503 and the others are served; the admin API shows it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { startPlatform } from '../../src/platform/platform.js';
import { ServerHealth } from '../../src/servers/server-health.js';
import { startTestPlatform, testApp } from '../helper.js';
import { startExtraServer } from '../support/extra-server.js';
import { liveApi } from '../support/live-api.js';
import { testSecrets } from '../support/test-secrets.js';

t.setTimeout(300_000);
const first = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0', STRATA_SERVER_PROBE_MS: '3600000', STRATA_SERVER_PROBE_TIMEOUT_MS: '1000' });
const api = await liveApi(t, await testApp(t, first));
const island = await startExtraServer(t, first, 'island');
const admin = (await api('POST', '/admin/auth/login', { body: { email: first.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD } })).body
  .accessToken as string;

const create = (slug: string, tier: string, server?: string) =>
  api('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan: 'free', tier, ...(server && { server }), owner: { email: `owner@${slug}.example`, name: 'Owner' } },
  });
const login = async (created: { body: { owner: { password: string }; tenant: { slug: string } } }) =>
  (await api('POST', '/auth/login', { body: { email: `owner@${created.body.tenant.slug}.example`, password: created.body.owner.password } })).body
    .accessToken as string;
const islandState = async () => {
  const { body } = await api('GET', '/admin/servers', { token: admin });
  return body.items.find((s: { name: string }) => s.name === 'island') as {
    state: string;
    health: { up: boolean; downSince: string | null; error: string | null };
  };
};
async function until(what: string, ms: number, check: () => Promise<boolean>) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not ${what} within ${ms} ms`);
    await sleep(100);
  }
  return Date.now() - started;
}

// Dedicated tenants go to the island while the default server takes none.
const capped = await api('PATCH', '/admin/servers/default', { token: admin, body: { maxDedicatedTenants: 0 } });
const islander = await create('islander', 'dedicated');
if (capped.status !== 200 || islander.status !== 201) throw new Error(`setup: ${JSON.stringify([capped.body, islander.body])}`);
const mainlander = await create('mainlander', 'pooled', 'default');
const islanderToken = await login(islander);
const mainlanderToken = await login(mainlander);

t.test('failed tenant connections mark the server down at once; nothing is placed there', async (t) => {
  t.match(await islandState(), { state: 'active', health: { up: true, downSince: null } });
  t.equal((await api('GET', '/leads', { token: islanderToken })).status, 200);

  await island.stop();
  const answer = await api('GET', '/leads', { token: islanderToken });
  t.equal(answer.status, 503, 'its tenant gets 503');
  const ms = await until('marked down', 10_000, async () => (await islandState()).state === 'down');
  t.ok(ms < 10_000, `marked down ${ms} ms after its tenant's request failed (the periodic probe is an hour away)`);
  t.match(await islandState(), { health: { up: false, downSince: String, error: String } });
  t.equal((await api('GET', '/leads', { token: mainlanderToken })).status, 200, 'the other tenants are served');

  const refused = await create('no-room', 'dedicated');
  t.equal(refused.status, 409);
  t.equal(refused.body.code, 'STRATA_SERVER_NONE_AVAILABLE');
  t.match(refused.body.detail, /island is down/);
  const named = await create('named-island', 'dedicated', 'island');
  t.equal(named.body.code, 'STRATA_SERVER_CORDONED');
  t.equal(await first.catalog.adminAuditEvent.count({ where: { action: 'server.down' } }), 1, 'the transition is audited once');
});

t.test('periodic probes mark it up when it answers and down when it stops, without traffic', async (t) => {
  // A second instance of the same installation, probing every 300 ms.
  const second = await startPlatform({ ...first.config, serverProbe: { everyMs: 300, timeoutMs: 1000 } }, pino({ level: 'silent' }));
  t.teardown(() => second.close());
  second.serverHealth.start();

  await island.start();
  const up = await until('marked up', 15_000, async () => (await islandState()).state === 'active');
  t.pass(`marked up ${up} ms after it started`);
  t.equal((await api('GET', '/leads', { token: islanderToken })).status, 200, 'its tenant is served again');
  const placed = await create('back-again', 'dedicated');
  t.equal(placed.status, 201, 'and it takes new tenants');

  await island.stop();
  const down = await until('marked down', 15_000, async () => (await islandState()).state === 'down');
  t.pass(`marked down ${down} ms after it stopped, with no tenant request`);
  await island.start();
  await until('marked up', 15_000, async () => (await islandState()).state === 'active');
  t.same(
    (await first.catalog.adminAuditEvent.findMany({ where: { action: { in: ['server.down', 'server.up'] } }, orderBy: { at: 'asc' } })).map((e) => e.action),
    ['server.down', 'server.up', 'server.down', 'server.up'],
  );
});

t.test('closing the prober waits for the probes under way: none writes to the catalog afterwards', async (t) => {
  // A write after close would reach a catalog client that is being closed, reopening its pool.
  const now = async () => (await first.catalog.$queryRaw<{ at: Date }[]>`SELECT clock_timestamp() AS at`)[0]!.at;
  const checkedAt = async () => (await first.catalog.databaseServer.findUniqueOrThrow({ where: { id: first.defaultServer.id } })).healthCheckedAt!;
  for (let round = 0; round < 5; round++) {
    const prober = new ServerHealth(first.catalog, pino({ level: 'silent' }), { everyMs: 0, timeoutMs: 1000, prefix: first.config.database.prefix });
    const started = await now();
    void prober.probe(first.defaultServer);
    prober.suspect(first.defaultServer.id);
    await prober.close();
    const closed = await now();
    await sleep(300);
    const written = await checkedAt();
    t.ok(written > started && written <= closed, `round ${round}: the probe wrote (${written.toISOString()}) before close returned (${closed.toISOString()})`);
  }
});
