import { pino } from 'pino';
import t from 'tap';
import { RequestCounter } from '../../src/usage/request-counter.js';
import { bearer, provision, startTestPlatform, testApp, userWithToken } from '../helper.js';

// A long interval: flushes happen only when this test asks for them.
const platform = await startTestPlatform(t, { STRATA_USAGE_FLUSH_MS: '600000', STRATA_SPARE_SCHEMAS: '0' });
const app = await testApp(t, platform);

const requestsOf = async (tenantId: string) =>
  Number((await platform.catalog.tenantUsage.findMany({ where: { tenantId } })).reduce((n, row) => n + row.requests, 0n));

t.test('requests served to a tenant are counted in memory per tenant, written only by a flush; refused ones are not counted', async (t) => {
  const a = await provision(platform, 'pooled', 'counted');
  const b = await provision(platform, 'schema', 'counted');
  const ownerA = await userWithToken(platform, a, 'owner');
  const ownerB = await userWithToken(platform, b, 'owner');
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ url: '/leads', headers: bearer(ownerA.token) })).statusCode, 200);
  for (let i = 0; i < 2; i++) await app.inject({ url: '/leads', headers: bearer(ownerB.token) });
  t.equal((await app.inject({ url: '/leads', headers: bearer('not-a-token') })).statusCode, 401);
  t.equal(await requestsOf(a.id), 0, 'nothing is written per request');

  await app.requestCounter.flush();
  t.equal(await requestsOf(a.id), 5, 'A’s requests');
  t.equal(await requestsOf(b.id), 2, 'B’s requests are B’s own');
  await app.inject({ url: '/leads', headers: bearer(ownerA.token) });
  await app.requestCounter.flush();
  t.equal(await requestsOf(a.id), 6, 'a later flush adds to the day’s total');
});

t.test('a counter flushes on its interval, and on close', async (t) => {
  const tenant = await provision(platform, 'pooled', 'interval');
  const counter = new RequestCounter(platform.catalog, pino({ level: 'silent' }), 100);
  for (let i = 0; i < 3; i++) counter.count(tenant.id);
  const started = Date.now();
  while ((await requestsOf(tenant.id)) < 3 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50));
  t.equal(await requestsOf(tenant.id), 3, `flushed by the timer within ${Date.now() - started} ms`);
  counter.count(tenant.id);
  await counter.close();
  t.equal(await requestsOf(tenant.id), 4, 'close flushes what is left');
});
