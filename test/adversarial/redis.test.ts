// Redis as the app uses it (rate-limit counters, catalog change announcements), on a private
// redis-server so every key in it is the app's: namespaced per installation and per tenant, never
// shared between tenants, and its loss degrades (limits fail open, catalog caches fall back to the
// short TTL) without mixing tenants or failing requests.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { adminToken, bearer, startTestPlatform, tenantPairs, testApp, tiers, tokenFor } from '../helper.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { startRedisServer } from '../support/redis-server.js';

t.test('Redis as the app uses it, on a private redis-server', { skip: skipWithout(optionalTools.redisServer) }, async (t) => {
  const redis = await startRedisServer(t);
  const catalogCacheMs = 500;
  const platform = await startTestPlatform(t, { REDIS_URL: redis.url, STRATA_CATALOG_CACHE_MS: String(catalogCacheMs) });
  const pairs = await tenantPairs(platform);
  const app = await testApp(t, platform);
  const admin = await adminToken(platform);
  const prefix = platform.config.database.prefix;
  const inspect = redis.client();

  const get = (tenant: Tenant, url: string) => app.inject({ method: 'GET', url, headers: bearer(tokenFor(platform, tenant)) });

  /** The same lead id in both tenants of every tier, with names telling them apart. */
  const sharedIds = new Map<string, string>();
  for (const tier of tiers) {
    const id = randomUUID();
    sharedIds.set(tier, id);
    for (const tenant of [pairs[tier].a, pairs[tier].b]) {
      await platform.router.clientFor(tenant).lead.create({ data: { id, name: `lead of ${tenant.slug}` } });
    }
  }

  t.test('every key the app writes is namespaced by installation, and tenant counters by tenant', async (t) => {
    await inspect.flushall();
    const made = new Map<string, number>();
    for (const tier of tiers) {
      const { a, b } = pairs[tier];
      for (const [tenant, n] of [
        [a, 3],
        [b, 5],
      ] as const) {
        for (let i = 0; i < n; i++) t.equal((await get(tenant, '/leads?limit=5')).statusCode, 200);
        made.set(tenant.id, n);
      }
    }
    for (let i = 0; i < 2; i++) await app.inject('/health');

    const keys = await inspect.keys('*');
    const namespace = `strata:ratelimit:${prefix}:`;
    t.same(
      keys.filter((k) => !k.startsWith(namespace)),
      [],
      `every key starts with ${namespace}`,
    );
    const tenantKeys = keys.filter((k) => k.startsWith(`${namespace}tenant:`));
    const userKeys = keys.filter((k) => k.startsWith(`${namespace}user:`));
    const other = keys.filter((k) => !tenantKeys.includes(k) && !userKeys.includes(k));
    t.ok(
      other.every((k) => k.startsWith(`${namespace}ip:`)),
      `the others count anonymous requests per client address (${other})`,
    );
    t.equal(tenantKeys.length, made.size, 'one counter per tenant that made requests');
    for (const [tenantId, n] of made) {
      t.equal(Number(await inspect.get(`${namespace}tenant:${tenantId}`)), n, `tenant ${tenantId} counted its own ${n} requests only`);
      // Each user's share of its tenant's budget is counted under that tenant (every token here names a new user).
      const own = userKeys.filter((k) => k.startsWith(`${namespace}user:${tenantId}:`));
      const counted = (await Promise.all(own.map((k) => inspect.get(k)))).reduce((sum, v) => sum + Number(v), 0);
      t.equal(counted, n, `tenant ${tenantId}'s user counters hold its own ${n} requests only`);
    }
    t.ok(
      userKeys.every((k) => made.has(k.slice(`${namespace}user:`.length).split(':')[0]!)),
      'no user counter outside the tenants that made requests',
    );
    const channels = await inspect.pubsub('CHANNELS', '*');
    t.same(
      channels.sort(),
      [`strata:${prefix}:catalog:server-changed`, `strata:${prefix}:catalog:tenant-changed`, `strata:${prefix}:catalog:user-changed`],
      'the pub/sub channels are the installation’s',
    );
  });

  for (const tier of tiers) {
    t.test(`${tier}: two tenants holding the same lead id never see each other’s`, async (t) => {
      const { a, b } = pairs[tier];
      const id = sharedIds.get(tier)!;
      const [ra, rb] = [await get(a, `/leads/${id}`), await get(b, `/leads/${id}`)];
      t.equal(ra.json().name, `lead of ${a.slug}`);
      t.equal(rb.json().name, `lead of ${b.slug}`);
      const patched = await app.inject({
        method: 'PATCH',
        url: `/leads/${id}`,
        headers: { ...bearer(tokenFor(platform, a)), 'if-match': ra.headers.etag as string },
        payload: { name: `renamed by ${a.slug}` },
      });
      t.equal(patched.statusCode, 200);
      const after = await get(b, `/leads/${id}`);
      t.equal(after.json().name, `lead of ${b.slug}`, 'B’s lead is untouched by A’s change');
      t.equal(after.headers.etag, rb.headers.etag, 'and keeps its version');
      t.equal((await get(a, `/leads/${id}`)).json().name, `renamed by ${a.slug}`, 'A sees its change at once');
    });
  }

  t.test('losing Redis mid-run: requests keep being served, tenants never mix, suspensions still land', async (t) => {
    const callers = tiers.flatMap((tier) => [pairs[tier].a, pairs[tier].b]);
    const tierOf = new Map(
      tiers.flatMap(
        (tier) =>
          [
            [pairs[tier].a.id, tier],
            [pairs[tier].b.id, tier],
          ] as const,
      ),
    );
    const answers: { tenant: Tenant; status: number; body: string }[] = [];
    let stop = false;
    const traffic = Promise.all(
      callers.map(async (tenant) => {
        while (!stop) {
          const res = await get(tenant, `/leads/${sharedIds.get(tierOf.get(tenant.id)!)}`);
          answers.push({ tenant, status: res.statusCode, body: res.payload });
        }
      }),
    );
    await sleep(300);
    await redis.kill();
    const killedAt = answers.length;
    await sleep(1_500);

    // The catalog is the truth: suspending works without Redis, and this instance's own cache is dropped.
    const victim = pairs.pooled.a;
    const suspended = await app.inject({
      method: 'POST',
      url: `/admin/tenants/${victim.id}/suspend`,
      headers: bearer(admin),
      payload: { reason: 'redis outage drill' },
    });
    // Regression: the catalog changed, then announcing it over the dead Redis threw: a 500, no audit entry.
    t.equal(suspended.statusCode, 200, `suspending answers 200 while Redis is down (${suspended.payload.slice(0, 200)})`);
    t.equal(await platform.catalog.adminAuditEvent.count({ where: { tenantId: victim.id, action: 'tenant.suspend' } }), 1, 'and is audited');
    const deadline = Date.now() + catalogCacheMs + 2_000;
    let refused = 0;
    while (Date.now() < deadline && refused !== 423) refused = (await get(victim, '/leads?limit=1')).statusCode;
    t.equal(refused, 423, 'the suspended tenant is refused without Redis');
    stop = true;
    await traffic;

    const afterKill = answers.slice(killedAt);
    t.ok(afterKill.length >= 50, `${afterKill.length} requests answered after Redis was killed`);
    const unclean = answers.filter((a) => a.status !== 200 && !(a.status === 423 && a.tenant === victim));
    t.same(
      unclean.map((a) => `${a.tenant.slug}: ${a.status} ${a.body.slice(0, 120)}`),
      [],
      'every request served (limits fail open)',
    );
    const mixed = answers.filter((a) => a.status === 200 && !(JSON.parse(a.body).name as string).endsWith(a.tenant.slug));
    t.same(
      mixed.map((a) => `${a.tenant.slug} got "${JSON.parse(a.body).name}"`),
      [],
      'each tenant got its own lead only',
    );
    t.equal((await get(pairs.pooled.b, '/leads?limit=1')).statusCode, 200, 'the other tenants are still served');

    // Redis comes back (empty): counting resumes, the subscription is restored.
    await redis.start();
    const counterBack = Date.now() + 15_000;
    const key = `strata:ratelimit:${prefix}:tenant:${pairs.schema.b.id}`;
    while (Date.now() < counterBack && !(await inspect.get(key).catch(() => null))) {
      await get(pairs.schema.b, '/leads?limit=1');
      await sleep(100);
    }
    t.ok(await inspect.get(key), 'requests are counted in Redis again');
  });
});
