import { randomUUID } from 'node:crypto';
import t from 'tap';
import { pino } from 'pino';
import { startPlatform } from '../../src/platform/platform.js';
import { bearer, provision, startTestPlatform, testApp, tokenFor } from '../helper.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';

const redisUrl = process.env.REDIS_URL;

t.test('a suspension made on one instance is obeyed by another within a second', { skip: skipWithout(optionalTools.redis) }, async (t) => {
  const first = await startTestPlatform(t, { REDIS_URL: redisUrl! });
  // A second API instance: same installation (catalog, databases), its own caches.
  const second = await startPlatform(first.config, pino({ level: 'silent' }));
  t.teardown(() => second.close());
  const appOnSecond = await testApp(t, second);

  const tenant = await provision(first, 'schema', 'suspended-elsewhere');
  const token = tokenFor(first, tenant);
  const leads = () => appOnSecond.inject({ url: '/leads', headers: bearer(token) });
  t.equal((await leads()).statusCode, 200, 'served, and now cached on the second instance');

  await first.catalog.tenant.update({ where: { id: tenant.id }, data: { status: 'suspended', version: { increment: 1 } } });
  await first.tenants.changed(tenant.id);
  const started = Date.now();
  let status = 200;
  while (status !== 423 && Date.now() - started < 1000) {
    status = (await leads()).statusCode;
    if (status !== 423) await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(status, 423, `refused on the other instance after ${Date.now() - started} ms`);

  await first.catalog.tenant.update({ where: { id: tenant.id }, data: { status: 'active', version: { increment: 1 } } });
  await first.tenants.changed(tenant.id);
  await new Promise((r) => setTimeout(r, 200));
  t.equal((await leads()).statusCode, 200, 'and served again once reactivated');
});

t.test('without Redis, a change made elsewhere is seen within the cache TTL', async (t) => {
  const first = await startTestPlatform(t, { REDIS_URL: '', STRATA_CATALOG_CACHE_MS: '300' });
  const second = await startPlatform(first.config, pino({ level: 'silent' }));
  t.teardown(() => second.close());
  const tenant = await provision(first, 'pooled', 'ttl');
  t.equal((await second.tenants.byId(tenant.id))?.status, 'active');
  await first.catalog.tenant.update({ where: { id: tenant.id }, data: { status: 'suspended' } });
  await new Promise((r) => setTimeout(r, 350));
  t.equal((await second.tenants.byId(tenant.id))?.status, 'suspended');
});

t.test('a lookup reads the row Prisma reads, field for field; an unknown id is null', async (t) => {
  const platform = await startTestPlatform(t);
  const tenant = await provision(platform, 'schema', 'same-row');
  await platform.catalog.tenant.update({ where: { id: tenant.id }, data: { config: { branding: { displayName: 'Same' } }, version: { increment: 1 } } });
  await platform.tenants.changed(tenant.id);
  const looked = await platform.tenants.byId(tenant.id);
  const prisma = await platform.catalog.tenant.findUnique({ where: { id: tenant.id } });
  t.strictSame(Object.keys(looked!).sort(), Object.keys(prisma!).sort(), 'the same fields');
  t.strictSame(looked, prisma);
  t.equal(await platform.tenants.byId(randomUUID()), null);
});

t.test('first lookups of a tenant share one catalog round trip; one on its way when the tenant changes is not reused', async (t) => {
  const platform = await startTestPlatform(t);
  const tenant = await provision(platform, 'pooled', 'in-flight');
  await platform.tenants.changed(tenant.id);
  const first = platform.tenants.byId(tenant.id);
  t.equal(platform.tenants.byId(tenant.id), first, 'a concurrent lookup waits for the same one');

  await platform.catalog.tenant.update({ where: { id: tenant.id }, data: { status: 'suspended' } });
  await platform.tenants.changed(tenant.id);
  const after = platform.tenants.byId(tenant.id);
  t.not(after, first, 'a lookup after the change asks the catalog again');
  t.equal((await after)?.status, 'suspended');
  await first;
  t.equal((await platform.tenants.byId(tenant.id))?.status, 'suspended', 'what the earlier lookup read was not cached over it');
});
