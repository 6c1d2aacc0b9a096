// PostgreSQL restarted under traffic: a PRIVATE embedded server is this platform's whole database
// (catalog and every tier), never the shared one. While it is down requests fail cleanly (503
// problem with Retry-After, no 500, no stack); once it is back they are served again by the same
// API process, with no restart and no foreign rows.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { bearer, provision, startTestPlatform, testApp, tiers, tokenFor } from '../helper.js';
import { startPrivatePostgres } from '../support/extra-server.js';

const postgres = await startPrivatePostgres(t, 'restart');
const platform = await startTestPlatform(t, {
  DATABASE_URL: postgres.url,
  // Catalog lookups expire quickly, so the outage reaches the catalog too, not only the tenant data.
  STRATA_CATALOG_CACHE_MS: '200',
  STRATA_SPARE_SCHEMAS: '0',
});
const app = await testApp(t, platform);
const tenants: Tenant[] = [];
for (const tier of tiers) tenants.push(await provision(platform, tier, 'restart'));
const tokens = new Map(tenants.map((tenant) => [tenant.id, tokenFor(platform, tenant)]));

interface Answer {
  tenant: Tenant;
  at: number;
  status: number;
  body: string;
  retryAfter: string | undefined;
  contentType: string | undefined;
}

t.test('requests fail cleanly while PostgreSQL restarts, and recover without restarting the API', async (t) => {
  const answers: Answer[] = [];
  let stop = false;
  let n = 0;
  const traffic = Promise.all(
    tenants.map(async (tenant) => {
      while (!stop) {
        const write = n++ % 2 === 0;
        const res = await app.inject({
          method: write ? 'POST' : 'GET',
          url: write ? '/leads' : '/leads?limit=20',
          headers: bearer(tokens.get(tenant.id)!),
          payload: write ? { name: `lead of ${tenant.slug}` } : undefined,
        });
        const header = (name: string) => (res.headers[name] === undefined ? undefined : String(res.headers[name]));
        answers.push({
          tenant,
          at: performance.now(),
          status: res.statusCode,
          body: res.payload,
          retryAfter: header('retry-after'),
          contentType: header('content-type'),
        });
        await sleep(10);
      }
    }),
  );

  await sleep(500);
  const down = performance.now();
  await postgres.stop();
  await sleep(2_000);
  const readyDuringOutage = await app.inject('/readyz');
  await postgres.start();
  const up = performance.now();

  // Every tenant is served again (bounded wait), then a little more traffic.
  const deadline = up + 30_000;
  const recovered = () => tenants.every((tenant) => answers.some((a) => a.tenant === tenant && a.at > up && a.status < 300));
  while (!recovered() && performance.now() < deadline) await sleep(100);
  const recoveredAt = performance.now();
  await sleep(500);
  stop = true;
  await traffic;

  t.ok(recovered(), `every tenant served again ${Math.round(recoveredAt - up)} ms after PostgreSQL came back`);
  const duringOutage = answers.filter((a) => a.at > down + 200 && a.at < up);
  const failed = answers.filter((a) => a.status >= 300);
  t.ok(failed.length > 0 && duringOutage.length > 0, `${duringOutage.length} requests answered during the outage, ${failed.length} failed`);
  const unclean = failed.filter((a) => {
    if (a.status !== 503 || !a.retryAfter || !a.contentType?.startsWith('application/problem+json')) return true;
    const body = JSON.parse(a.body);
    return body.code !== 'STRATA_SERVICE_UNAVAILABLE' || 'stack' in body;
  });
  t.same(
    unclean.map((a) => `${a.tenant.slug}: ${a.status} ${a.body.slice(0, 160)}`),
    [],
    'every failure is a 503 problem with Retry-After',
  );
  const lastOfEach = tenants.map((tenant) => answers.filter((a) => a.tenant === tenant).at(-1)!.status);
  t.ok(
    lastOfEach.every((status) => status < 300),
    `the last answer of every tenant is a success (${lastOfEach})`,
  );
  t.equal(readyDuringOutage.statusCode, 503, 'readiness reports the outage');
  t.equal((await app.inject('/readyz')).statusCode, 200, 'and the recovery');

  for (const tenant of tenants) {
    const names = (await platform.router.clientFor(tenant).lead.findMany({ select: { name: true } })).map((r) => r.name);
    t.ok(names.length > 0 && names.every((name) => name === `lead of ${tenant.slug}`), `${tenant.slug} holds only its own leads (${names.length})`);
  }
});
