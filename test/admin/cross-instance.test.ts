import { pino } from 'pino';
import t from 'tap';
import { startPlatform } from '../../src/platform/platform.js';
import { prepareStorage, reserveTenant } from '../../src/tenants/provision-tenant.js';
import { adminToken, adminUrl, bearer, provision, startTestPlatform, testApp, tokenFor, userWithToken } from '../helper.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { runScript } from '../support/run-script.js';

const redisUrl = process.env.REDIS_URL;

/** Polls until `request` answers `status`, for at most `ms`; returns how long it took (or -1). */
async function within(ms: number, status: number, request: () => Promise<{ statusCode: number }>) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if ((await request()).statusCode === status) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  return -1;
}

t.test('admin changes on one instance are obeyed by another within a second', { skip: skipWithout(optionalTools.redis) }, async (t) => {
  const first = await startTestPlatform(t, { REDIS_URL: redisUrl!, STRATA_SPARE_SCHEMAS: '0' });
  // A second API instance: same installation (catalog, databases, Redis channel), its own caches.
  const second = await startPlatform(first.config, pino({ level: 'silent' }));
  t.teardown(() => second.close());
  const adminApp = await testApp(t, first);
  const otherApp = await testApp(t, second);
  const admin = bearer(await adminToken(first));

  for (const tier of ['pooled', 'dedicated'] as const) {
    const tenant = await provision(first, tier, 'elsewhere', 'starter');
    const owner = await userWithToken(first, tenant, 'owner');
    const onOther = (url: string) => () => otherApp.inject({ url, headers: bearer(owner.token) });
    t.equal((await onOther('/leads')()).statusCode, 200, `${tier}: served, and now cached on the other instance`);
    t.equal((await onOther('/deals')()).statusCode, 200);

    const suspend = await adminApp.inject({ method: 'POST', url: `/admin/tenants/${tenant.id}/suspend`, headers: admin, payload: { reason: 'abuse report' } });
    t.equal(suspend.statusCode, 200);
    const refusedAfter = await within(1000, 423, onOther('/leads'));
    t.ok(refusedAfter >= 0, `${tier}: suspension obeyed by the other instance after ${refusedAfter} ms`);

    await adminApp.inject({ method: 'POST', url: `/admin/tenants/${tenant.id}/reactivate`, headers: admin });
    const servedAfter = await within(1000, 200, onOther('/leads'));
    t.ok(servedAfter >= 0, `${tier}: reactivation obeyed after ${servedAfter} ms`);

    // A config change (a feature switched off) reaches the other instance the same way.
    await adminApp.inject({ method: 'PATCH', url: `/admin/tenants/${tenant.id}`, headers: admin, payload: { config: { features: { deals: false } } } });
    const disabledAfter = await within(1000, 403, onOther('/deals'));
    t.ok(disabledAfter >= 0, `${tier}: feature switch obeyed after ${disabledAfter} ms`);

    await adminApp.inject({ method: 'DELETE', url: `/admin/tenants/${tenant.id}`, headers: admin });
    const goneAfter = await within(1000, 403, onOther('/leads'));
    t.ok(goneAfter >= 0, `${tier}: deletion obeyed after ${goneAfter} ms`);
  }
});

// Regression: finishing an interrupted provisioning was not announced, so an instance that had
// looked the tenant up meanwhile refused it ("still being set up") for up to 30 s.
t.test('a resumed provisioning is served by the other instance at once', { skip: skipWithout(optionalTools.redis) }, async (t) => {
  t.setTimeout(300_000);
  const first = await startTestPlatform(t, { REDIS_URL: redisUrl!, STRATA_SPARE_SCHEMAS: '0' });
  const second = await startPlatform(first.config, pino({ level: 'silent' }));
  t.teardown(() => second.close());
  const otherApp = await testApp(t, second);
  // Interrupted between steps: storage ready, never activated.
  const reserved = await reserveTenant(first.provisioning, { slug: 'interrupted', name: 'Interrupted', plan: 'starter', tier: 'schema' });
  await prepareStorage(first.provisioning, reserved);
  // An operator's token for it (as `npm run token` mints), used on the other instance while it is being set up.
  const leads = () => otherApp.inject({ url: '/leads', headers: bearer(tokenFor(first, reserved)) });
  const early = await leads();
  t.equal(early.statusCode, 403);
  t.match(early.json(), { detail: /still being set up/ });

  const resumed = await runScript('provision', ['--slug', 'interrupted', '--tier', 'schema', '--plan', 'starter', '--resume'], {
    DATABASE_URL: adminUrl(),
    STRATA_DB_PREFIX: first.config.database.prefix,
    REDIS_URL: redisUrl,
    STRATA_SPARE_SCHEMAS: '0',
  });
  t.equal(resumed.code, 0, resumed.stderr);
  const servedAfter = await within(1000, 200, leads);
  t.ok(servedAfter >= 0, `served by the other instance ${servedAfter} ms after the provisioning finished`);
});

t.test('without Redis, the other instance obeys within the catalog cache TTL', async (t) => {
  const first = await startTestPlatform(t, { REDIS_URL: '', STRATA_CATALOG_CACHE_MS: '300', STRATA_SPARE_SCHEMAS: '0' });
  const second = await startPlatform(first.config, pino({ level: 'silent' }));
  t.teardown(() => second.close());
  const adminApp = await testApp(t, first);
  const otherApp = await testApp(t, second);
  const tenant = await provision(first, 'schema', 'ttl-bound');
  const owner = await userWithToken(first, tenant, 'owner');
  const leads = () => otherApp.inject({ url: '/leads', headers: bearer(owner.token) });
  t.equal((await leads()).statusCode, 200);
  await adminApp.inject({ method: 'POST', url: `/admin/tenants/${tenant.id}/suspend`, headers: bearer(await adminToken(first)), payload: { reason: 'test' } });
  const after = await within(1000, 423, leads);
  t.ok(after >= 0 && after <= 1000, `obeyed after ${after} ms (TTL 300 ms)`);
});
