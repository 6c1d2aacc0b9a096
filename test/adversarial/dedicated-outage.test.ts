// A dedicated tenant's own server goes down: only that tenant gets 503 (with Retry-After), every
// other tenant on every tier keeps being served, and the tenant recovers when its server is back.
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { problem } from '../crm/resource-client.js';
import { bearer, provision, startTestPlatform, testApp, tiers, tokenFor } from '../helper.js';
import { startExtraServer } from '../support/extra-server.js';

const platform = await startTestPlatform(t);
const extra = await startExtraServer(t, platform, 'island');
const app = await testApp(t, platform);
const island = await provisionTenant(platform.provisioning, { slug: 'island', name: 'Island', plan: 'free', tier: 'dedicated', server: 'island' });
const others: Tenant[] = [];
for (const tier of tiers) others.push(await provision(platform, tier, 'mainland'));

const list = (tenant: Tenant) => app.inject({ method: 'GET', url: '/leads?limit=5', headers: bearer(tokenFor(platform, tenant)) });
const create = (tenant: Tenant) =>
  app.inject({ method: 'POST', url: '/leads', headers: bearer(tokenFor(platform, tenant)), payload: { name: `lead of ${tenant.slug}` } });

/** Answers of every tenant to a read and a write. */
async function round() {
  const answers = new Map<Tenant, LightMyRequestResponse[]>();
  for (const tenant of [island, ...others]) answers.set(tenant, [await list(tenant), await create(tenant)]);
  return answers;
}

t.test('only the tenant whose server is down gets 503; the others are served; it recovers', async (t) => {
  for (const [tenant, answers] of await round()) {
    t.same(
      answers.map((a) => a.statusCode),
      [200, 201],
      `${tenant.slug}: served before the outage`,
    );
  }

  await extra.stop();
  for (let i = 0; i < 3; i++) {
    for (const [tenant, answers] of await round()) {
      if (tenant === island) {
        for (const answer of answers) {
          problem(t, answer, 503, 'STRATA_SERVICE_UNAVAILABLE', `${tenant.slug} while its server is down`);
          t.ok(answer.headers['retry-after'], 'with Retry-After');
        }
      } else {
        t.same(
          answers.map((a) => a.statusCode),
          [200, 201],
          `${tenant.slug}: served during the other server's outage`,
        );
      }
    }
  }

  await extra.start();
  // Recovery needs no restart of the API: the pool reconnects on its next request (bounded wait).
  const deadline = Date.now() + 15_000;
  let status = 0;
  while (status !== 200 && Date.now() < deadline) {
    status = (await list(island)).statusCode;
    if (status !== 200) await sleep(200);
  }
  t.equal(status, 200, `${island.slug} is served again once its server is back`);
  for (const [tenant, answers] of await round()) {
    t.same(
      answers.map((a) => a.statusCode),
      [200, 201],
      `${tenant.slug}: served after the outage`,
    );
  }
  const names = (await platform.router.clientFor(island).lead.findMany({ select: { name: true } })).map((r) => r.name);
  t.same(names, ['lead of island', 'lead of island'], 'the island holds its two leads, none from the outage or from others');
});
