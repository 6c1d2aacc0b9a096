import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { problemDocument } from '../../src/docs/docs-plugin.js';
import { rateLimitNamespace } from '../../src/http/rate-limit.js';
import { plans, requestsPerMinute } from '../../src/plans/plan-limits.js';
import { adminToken, bearer, provision, startTestPlatform, testApp, tokenFor, userWithToken } from '../helper.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { testSecrets } from '../support/test-secrets.js';

// A plan of 3 requests a minute for the tenants under test, and 4 for requests without a tenant.
const tinyLimit = 3;
const anonLimit = 4;
// Each request here comes from a user of its own: the per-user share is tested below.
const platform = await startTestPlatform(t, { STRATA_RATE_LIMIT_PLANS: `tiny=${tinyLimit}`, STRATA_RATE_LIMIT_ANON_PER_MINUTE: `${anonLimit}` });
const app = await testApp(t, platform);
const redisUrl = platform.config.redisUrl;

const tenant = (label: string, plan = 'tiny') => provision(platform, 'pooled', label, plan);
const [a, b, c, d, e, onFree, onTypo] = await Promise.all([
  tenant('alpha'),
  tenant('beta'),
  tenant('gamma'),
  tenant('delta'),
  tenant('epsilon'),
  tenant('free', 'free'),
  tenant('typo', 'enterprize'),
]);

type App = Awaited<ReturnType<typeof buildApp>>;
const getLeads = (on: App, who: Tenant, sub: string = randomUUID()) =>
  on.inject({ method: 'GET', url: '/leads', headers: bearer(tokenFor(platform, who, 'owner', sub)) });

/** A second app on the same platform, with its own rate-limit store. */
async function appWith(t: Test, redis: string | undefined) {
  const other = await buildApp({ config: { ...platform.config, redisUrl: redis }, platform });
  t.teardown(() => other.close());
  await other.ready();
  return other;
}

function rateLimited(t: Test, res: LightMyRequestResponse, limit: number) {
  t.equal(res.statusCode, 429, 'answers 429');
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'as problem+json');
  const body = res.json();
  t.match(body, { status: 429, code: 'STRATA_RATE_LIMITED', title: 'Too many requests' });
  t.ok(problemDocument.safeParse(body).success, 'the body is the documented problem');
  const retryAfter = Number(res.headers['retry-after']);
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After is 1..60 seconds (${res.headers['retry-after']})`);
  t.equal(res.headers['x-ratelimit-limit'], String(limit));
  t.equal(res.headers['x-ratelimit-remaining'], '0');
}

/** Spends a tenant's whole minute, checking the headers on the way. */
async function exhaust(t: Test, on: App, who: Tenant) {
  for (let i = 1; i <= tinyLimit; i++) {
    const res = await getLeads(on, who);
    t.equal(res.statusCode, 200, `request ${i} of ${tinyLimit} is served`);
    t.equal(res.headers['x-ratelimit-limit'], String(tinyLimit));
    t.equal(res.headers['x-ratelimit-remaining'], String(tinyLimit - i));
    t.ok(Number(res.headers['x-ratelimit-reset']) > 0, 'X-RateLimit-Reset is set');
  }
}

async function redisKeys(t: Test) {
  const redis = new Redis(redisUrl!);
  t.teardown(() => redis.quit());
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${rateLimitNamespace(platform.config)}*`, count: 100 })) keys.push(...batch);
  return { redis, keys: keys.sort() };
}

t.test('plan limits: a known plan has its own, an unknown one the free plan’s, overrides win', async (t) => {
  t.equal(requestsPerMinute('free'), plans.free.limits.requestsPerMinute);
  t.equal(requestsPerMinute('enterprise'), plans.enterprise.limits.requestsPerMinute);
  t.ok(plans.free.limits.requestsPerMinute < plans.starter.limits.requestsPerMinute, 'free is the smallest paid-for step');
  for (const unknown of ['enterprize', '', 'constructor', '__proto__', 'toString']) {
    t.equal(requestsPerMinute(unknown), plans.free.limits.requestsPerMinute, `"${unknown}" gets the free plan's limit`);
  }
  t.equal(requestsPerMinute('business', { business: 7 }), 7, 'an override replaces a plan’s limit');
  t.equal(requestsPerMinute('trial', { trial: 9 }), 9, 'an override adds a plan');
  t.equal(requestsPerMinute('mystery', { free: 11 }), 11, 'an unknown plan follows an overridden free plan');
});

t.test('config: limits are read, and bad ones refuse to boot naming the key', async (t) => {
  t.same(loadConfig(testSecrets).rateLimit, { anonymousPerMinute: 120, adminPerMinute: 600, userShare: 0.5, planOverrides: {} });
  t.same(loadConfig({ ...testSecrets, STRATA_RATE_LIMIT_PLANS: ' free = 60 ,trial=5', STRATA_RATE_LIMIT_ANON_PER_MINUTE: '30' }).rateLimit, {
    anonymousPerMinute: 30,
    adminPerMinute: 600,
    userShare: 0.5,
    planOverrides: { free: 60, trial: 5 },
  });
  for (const [key, value] of [
    ['STRATA_RATE_LIMIT_PLANS', 'free'],
    ['STRATA_RATE_LIMIT_PLANS', 'free=0'],
    ['STRATA_RATE_LIMIT_PLANS', 'free=-1'],
    ['STRATA_RATE_LIMIT_PLANS', 'free=1,'],
    ['STRATA_RATE_LIMIT_PLANS', 'a b=3'],
    ['STRATA_RATE_LIMIT_ANON_PER_MINUTE', '0'],
    ['STRATA_RATE_LIMIT_ANON_PER_MINUTE', 'many'],
    ['STRATA_RATE_LIMIT_USER_SHARE', '0'],
    ['STRATA_RATE_LIMIT_USER_SHARE', '1.5'],
    ['STRATA_RATE_LIMIT_ADMIN_PER_MINUTE', '0'],
  ] as const) {
    const err = t.throws(() => loadConfig({ ...testSecrets, [key]: value }), `${key}=${value} is refused`) as unknown as ConfigError;
    t.ok(err instanceof ConfigError);
    t.same(
      err.issues?.map((i) => i.key),
      [key],
      `${key}=${value}: that key is blamed`,
    );
  }
});

t.test('a tenant over its plan limit gets 429 while another tenant is still served', async (t) => {
  await exhaust(t, app, a);
  // Another user of the same tenant: the budget is the tenant's, not the user's.
  rateLimited(t, await getLeads(app, a), tinyLimit);
  rateLimited(t, await getLeads(app, a), tinyLimit);

  const served = await getLeads(app, b);
  t.equal(served.statusCode, 200, 'B, on the same plan, is served');
  t.equal(served.headers['x-ratelimit-remaining'], String(tinyLimit - 1), 'B has spent one request of its own budget');

  const free = await getLeads(app, onFree);
  t.equal(free.statusCode, 200);
  t.equal(free.headers['x-ratelimit-limit'], String(plans.free.limits.requestsPerMinute), 'a free tenant has the free plan’s limit');
  const typo = await getLeads(app, onTypo);
  t.equal(typo.headers['x-ratelimit-limit'], String(plans.free.limits.requestsPerMinute), 'an unknown plan is limited as free');
});

t.test('health probes are never limited (a load balancer polls from one address)', async (t) => {
  for (let i = 0; i < anonLimit + 2; i++) {
    const res = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.99' });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['x-ratelimit-limit'], undefined, 'not counted');
  }
});

t.test('requests without a tenant are limited per client IP, apart from tenant budgets', async (t) => {
  const from = (remoteAddress: string) => app.inject({ method: 'GET', url: '/docs/json', remoteAddress });
  for (let i = 1; i <= anonLimit; i++) {
    const res = await from('198.51.100.7');
    t.equal(res.statusCode, 200, `anonymous request ${i} of ${anonLimit} is served`);
    t.equal(res.headers['x-ratelimit-limit'], String(anonLimit));
  }
  rateLimited(t, await from('198.51.100.7'), anonLimit);
  t.equal((await from('198.51.100.8')).statusCode, 200, 'another IP is still served');

  const tenantFromSameIp = await app.inject({
    method: 'GET',
    url: '/leads',
    remoteAddress: '198.51.100.7',
    headers: bearer(tokenFor(platform, c)),
  });
  t.equal(tenantFromSameIp.statusCode, 200, "a tenant's request from that IP draws on the tenant's budget");
  t.equal(tenantFromSameIp.headers['x-ratelimit-limit'], String(tinyLimit));
});

t.test('with Redis, counters are shared by instances and keyed by tenant under strata:ratelimit:', { skip: skipWithout(optionalTools.redis) }, async (t) => {
  const { redis, keys } = await redisKeys(t);
  const ns = rateLimitNamespace(platform.config);
  t.equal(ns, `strata:ratelimit:${platform.config.database.prefix}:`, 'namespaced by installation');
  t.same(await redis.get(`${ns}tenant:${a.id}`), String(tinyLimit + 2), "A's counter holds all its requests, refused ones included");
  t.same(await redis.get(`${ns}tenant:${b.id}`), '1', "B's counter only B's");
  t.ok(keys.includes(`${ns}tenant:${a.id}`) && keys.includes(`${ns}tenant:${b.id}`));
  t.ok(keys.includes(`${ns}ip:198.51.100.7`), 'anonymous requests are counted by IP');
  for (const key of keys)
    t.match(key.slice(ns.length), /^(tenant:[0-9a-f-]{36}|user:[0-9a-f-]{36}:[0-9a-f-]{36}|ip:.+)$/, `${key}: one tenant, user or IP per key`);
  const ttl = await redis.pttl(`${ns}tenant:${a.id}`);
  t.ok(ttl > 0 && ttl <= 60_000, `the window expires within a minute (${ttl} ms)`);

  // A second instance of the API shares the counters: A is refused there too, D is not.
  const second = await appWith(t, redisUrl);
  rateLimited(t, await getLeads(second, a), tinyLimit);
  t.equal((await getLeads(second, d)).statusCode, 200);
});

t.test('without Redis, each process counts in memory', async (t) => {
  const local = await appWith(t, undefined);
  await exhaust(t, local, e);
  rateLimited(t, await getLeads(local, e), tinyLimit);
  t.equal((await getLeads(local, b)).headers['x-ratelimit-remaining'], String(tinyLimit - 1), "B's count here is this process's alone");
  if (redisUrl) {
    const { keys } = await redisKeys(t);
    t.notOk(
      keys.some((key) => key.endsWith(e.id)),
      'nothing reached Redis',
    );
  }
});

t.test('an unreachable Redis does not take the API down: requests are served uncounted', async (t) => {
  const started = Date.now();
  const stranded = await appWith(t, 'redis://127.0.0.1:1');
  t.ok(Date.now() - started < 10_000, 'boot does not wait on Redis');
  for (let i = 1; i <= tinyLimit + 2; i++) {
    const res = await getLeads(stranded, d);
    t.equal(res.statusCode, 200, `request ${i}, past the limit, is served`);
  }
  t.equal((await stranded.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

t.test('behind a trusted proxy, anonymous requests are counted by the forwarded client address', async (t) => {
  const proxied = await startTestPlatform(t, { STRATA_RATE_LIMIT_ANON_PER_MINUTE: '2', STRATA_TRUSTED_PROXIES: '10.0.0.0/8' });
  const behind = await testApp(t, proxied);
  const from = (client: string) => behind.inject({ method: 'GET', url: '/docs/json', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': client } });
  t.equal((await from('203.0.113.1')).statusCode, 200);
  t.equal((await from('203.0.113.1')).statusCode, 200);
  t.equal((await from('203.0.113.1')).statusCode, 429, 'one client used up its budget');
  t.equal((await from('203.0.113.2')).statusCode, 200, 'another client behind the same proxy is not limited with it');
  const spoofed = await behind.inject({ method: 'GET', url: '/docs/json', remoteAddress: '198.51.100.50', headers: { 'x-forwarded-for': '203.0.113.9' } });
  const again = await behind.inject({ method: 'GET', url: '/docs/json', remoteAddress: '198.51.100.50', headers: { 'x-forwarded-for': '203.0.113.10' } });
  t.equal(spoofed.statusCode, 200);
  t.equal(again.statusCode, 200);
  const third = await behind.inject({ method: 'GET', url: '/docs/json', remoteAddress: '198.51.100.50', headers: { 'x-forwarded-for': '203.0.113.11' } });
  t.equal(third.statusCode, 429, 'an untrusted peer cannot dodge its limit with X-Forwarded-For');
});

/**
 * A listening API behind a trusted proxy (this test), so each request names its client address
 * in X-Forwarded-For, as a load balancer would.
 */
async function listeningBehindProxy(t: Test, overrides: Record<string, string>) {
  const proxied = await startTestPlatform(t, { STRATA_TRUSTED_PROXIES: '127.0.0.1', STRATA_SPARE_SCHEMAS: '0', ...overrides });
  const api = await testApp(t, proxied);
  const base = await api.listen({ host: '127.0.0.1', port: 0 });
  const send = (from: string, method: string, path: string, options: { token?: string; body?: unknown } = {}) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        'x-forwarded-for': from,
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body ? { 'content-type': 'application/json' } : {}),
      },
      body: options.body ? JSON.stringify(options.body) : undefined,
    });
  return { platform: proxied, send };
}

async function refusedWith429(t: Test, res: Response, limit: number) {
  t.equal(res.status, 429, 'answers 429');
  t.match(res.headers.get('content-type'), /^application\/problem\+json/);
  t.match(await res.json(), { code: 'STRATA_RATE_LIMITED' });
  t.ok(Number(res.headers.get('retry-after')) >= 1, 'with Retry-After');
  t.equal(res.headers.get('x-ratelimit-limit'), String(limit));
}

t.test('regression: junk logins spent the budget of admin routes from the same address, locking operators out', async (t) => {
  const { platform: p, send } = await listeningBehindProxy(t, { STRATA_RATE_LIMIT_ANON_PER_MINUTE: '3', STRATA_RATE_LIMIT_ADMIN_PER_MINUTE: '5' });
  const office = '203.0.113.20';
  const junk = () => send(office, 'POST', '/auth/login', { body: { email: 'nobody@example.com', password: 'guess' } });
  for (let i = 0; i < 3; i++) t.equal((await junk()).status, 401, `junk login ${i + 1} is answered`);
  await refusedWith429(t, await junk(), 3);

  const login = await send(office, 'POST', '/admin/auth/login', { body: { email: 'admin@strata.local', password: 'strata-admin-dev-password' } });
  t.equal(login.status, 200, 'the operator behind the same address still logs in');
  const { accessToken } = (await login.json()) as { accessToken: string };
  const audits = await Promise.all(Array.from({ length: 7 }, () => send(office, 'GET', '/admin/audit', { token: accessToken })));
  t.equal(audits.filter((r) => r.status === 200).length, 5, 'an admin has a budget of its own (5 of 7 simultaneous requests served)');
  await refusedWith429(
    t,
    audits.find((r) => r.status === 429)!,
    5,
  );
  const other = await send(office, 'GET', '/admin/audit', { token: await adminToken(p) });
  t.equal(other.status, 200, 'another admin from the same address is not limited with the first');
});

t.test('regression: requests refused by authentication were never counted (spraying bad tokens never hit 429)', async (t) => {
  const { platform: p, send } = await listeningBehindProxy(t, { STRATA_RATE_LIMIT_ANON_PER_MINUTE: '4', STRATA_RATE_LIMIT_PLANS: 'tiny=100' });
  const sprayer = '198.51.100.30';
  const forged = (i: number) => `${tokenFor(p, { id: randomUUID() } as Tenant).slice(0, -4)}${String(i).padStart(4, 'A')}`;
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => send(sprayer, 'GET', '/leads', { token: forged(i) })));
  t.equal(answers.filter((r) => r.status === 401).length, 4, 'the budget of the address answers 4 of 10 simultaneous bad tokens');
  await refusedWith429(
    t,
    answers.find((r) => r.status === 429)!,
    4,
  );
  t.equal((await send(sprayer, 'GET', '/admin/audit', { token: 'not-a-token' })).status, 401, 'admin routes have a budget apart');
  t.equal((await send('198.51.100.31', 'GET', '/leads', { token: forged(99) })).status, 401, 'another address is answered');
  const tenant = await provision(p, 'pooled', 'sprayed', 'tiny');
  t.equal((await send(sprayer, 'GET', '/leads', { token: tokenFor(p, tenant) })).status, 200, 'a valid token from that address draws on its tenant instead');
});

t.test('regression: one user could spend the whole tenant budget', async (t) => {
  const { platform: p, send } = await listeningBehindProxy(t, { STRATA_RATE_LIMIT_PLANS: 'tiny=6', STRATA_RATE_LIMIT_USER_SHARE: '0.5' });
  const tenant = await provision(p, 'pooled', 'shared', 'tiny');
  const [ada, bob] = await Promise.all([userWithToken(p, tenant, 'staff'), userWithToken(p, tenant, 'staff')]);
  const tokenOf = async (user: { email: string; password: string }) => {
    const res = await send('192.0.2.1', 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
    return ((await res.json()) as { accessToken: string }).accessToken;
  };
  const [adaToken, bobToken] = await Promise.all([tokenOf(ada), tokenOf(bob)]);

  const burst = await Promise.all(Array.from({ length: 8 }, () => send('192.0.2.2', 'GET', '/leads', { token: adaToken })));
  t.equal(burst.filter((r) => r.status === 200).length, 3, 'one user gets half the tenant’s 6 (3 of 8 simultaneous requests)');
  await refusedWith429(
    t,
    burst.find((r) => r.status === 429)!,
    3,
  );

  const bobs = await Promise.all(Array.from({ length: 3 }, () => send('192.0.2.3', 'GET', '/leads', { token: bobToken })));
  t.same(
    bobs.map((r) => r.status),
    [200, 200, 200],
    'another user of the tenant is still served',
  );
  const third = await userWithToken(p, tenant, 'staff');
  await refusedWith429(t, await send('192.0.2.4', 'GET', '/leads', { token: await tokenOf(third) }), 6);
});
