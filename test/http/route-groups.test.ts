/**
 * Every route is in the group this table names, so a new route must be placed in one (src/http/route-groups.ts):
 * its group's authentication is its first own onRequest hook, ahead of the route file's hooks.
 * Then, over HTTP, each group refuses a request without credentials, and the wrong kind of token.
 */
import t from 'tap';
import type { RouteGroup } from '../../src/http/route-groups.js';
import { adminToken, bearer, provision, startTestPlatform, testApp, tokenFor } from '../helper.js';
import { routeListing } from '../support/route-listing.js';

const table: Record<RouteGroup, string[]> = {
  public: [
    'GET /healthz',
    'GET /readyz',
    // Checks its own scrape token (or an admin's) instead.
    'GET /metrics',
    'POST /auth/login',
    'POST /auth/refresh',
    'POST /auth/logout',
    'POST /admin/auth/login',
    'GET /console',
    'GET /console/assets/:file',
    'GET /docs',
    'GET /docs/',
    'GET /docs/*',
    'GET /docs/json',
    'GET /docs/yaml',
    'GET /docs/static/index.html',
    'GET /docs/static/swagger-initializer.js',
  ],
  tenant: [
    'GET /me',
    'POST /me/password',
    'GET /settings',
    'GET /audit',
    ...['users', 'leads', 'deals', 'activities'].flatMap((records) => [
      `GET /${records}`,
      `POST /${records}`,
      `GET /${records}/:id`,
      `PATCH /${records}/:id`,
      `DELETE /${records}/:id`,
    ]),
  ],
  admin: [
    'GET /admin/audit',
    'GET /admin/fleet',
    'GET /admin/migrations',
    'GET /admin/plans',
    'GET /admin/recommendations',
    'GET /admin/reports/tenants',
    'GET /admin/usage/fleet',
    'GET /admin/usage/top',
    'GET /admin/rebalance',
    'POST /admin/rebalance',
    'GET /admin/moves/:jobId',
    'GET /admin/moves/:jobId/events',
    'POST /admin/moves/:jobId/cancel',
    'GET /admin/servers',
    'POST /admin/servers',
    'PATCH /admin/servers/:name',
    'DELETE /admin/servers/:name',
    'PUT /admin/servers/:name/state',
    'POST /admin/servers/:name/cordon',
    'POST /admin/servers/:name/uncordon',
    'GET /admin/servers/:name/drain',
    'POST /admin/servers/:name/drain',
    'GET /admin/tenants',
    'POST /admin/tenants',
    'GET /admin/tenants/:id',
    'PATCH /admin/tenants/:id',
    'DELETE /admin/tenants/:id',
    'POST /admin/tenants/:id/suspend',
    'POST /admin/tenants/:id/reactivate',
    'POST /admin/tenants/:id/purge',
    'GET /admin/tenants/:id/audit',
    'GET /admin/tenants/:id/usage',
    'GET /admin/tenants/:id/export',
    'POST /admin/tenants/:id/import',
    'GET /admin/tenants/:id/moves',
    'POST /admin/tenants/:id/moves',
  ],
};
const authentication: Record<RouteGroup, string | undefined> = { public: undefined, tenant: 'authenticateTenant()', admin: 'authenticateAdmin()' };

// Budgets apart, so X-RateLimit-Limit tells whom a request was counted against.
const limits = { tenant: 2000, admin: 3000, anonymous: 1000 };
const platform = await startTestPlatform(t, {
  STRATA_RATE_LIMIT_PLANS: `free=${limits.tenant}`,
  STRATA_RATE_LIMIT_ADMIN_PER_MINUTE: `${limits.admin}`,
  STRATA_RATE_LIMIT_ANON_PER_MINUTE: `${limits.anonymous}`,
});
const app = await testApp(t, platform);

t.test('every route is in the group the table names', async (t) => {
  const routes = routeListing(app);
  t.ok(routes.size > 100, `${routes.size} routes listed (sanity)`);
  const groupOf = new Map(Object.entries(table).flatMap(([group, names]) => names.map((name) => [name, group as RouteGroup] as const)));
  t.equal(groupOf.size, Object.values(table).flat().length, 'no route is listed twice');
  const served = [...routes.keys()].filter((name) => !name.startsWith('HEAD '));
  t.same(
    served.filter((name) => !groupOf.has(name)),
    [],
    'every route served is in the table (place a new one in a group)',
  );
  t.same(
    [...groupOf.keys()].filter((name) => !routes.has(name)),
    [],
    'every route in the table is served',
  );

  // The hooks every route runs first (security headers); a public route adds no authentication.
  const rootHooks = routes.get('GET /healthz')!.onRequest;
  const named = new Set(Object.values(authentication).filter((hook) => hook !== undefined));
  for (const [name, { onRequest }] of routes) {
    const group = groupOf.get(name.replace(/^HEAD /, 'GET '));
    if (!group) continue;
    t.same(onRequest.slice(0, rootHooks.length), rootHooks, `${name}: the app's own hooks run first`);
    const own = onRequest.slice(rootHooks.length);
    const expected = authentication[group];
    if (expected) t.equal(own[0], expected, `${name}: ${group} authentication before the route's own hooks`);
    t.equal(own.filter((hook) => named.has(hook)).length, expected ? 1 : 0, `${name}: authenticated ${expected ? 'once' : 'never'} by a group hook`);
  }
});

t.test('over HTTP, each group refuses requests without its own kind of credentials', async (t) => {
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const tenant = await provision(platform, 'pooled', 'groups');
  const asTenant = bearer(tokenFor(platform, tenant));
  const asAdmin = bearer(await adminToken(platform));
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { headers });
    return { status: res.status, limit: res.headers.get('x-ratelimit-limit'), body: await res.text() };
  };
  const refused = async (path: string, headers: Record<string, string> | undefined, why: string) => {
    const res = await get(path, headers);
    t.equal(res.status, 401, `${path} ${why}: 401`);
    t.match(JSON.parse(res.body), { status: 401, code: 'STRATA_AUTH_UNAUTHENTICATED' }, `${path} ${why}: the problem body`);
  };

  await refused('/leads', undefined, 'without a token');
  await refused('/deals', undefined, 'without a token (authenticated before its feature check)');
  await refused('/admin/tenants', undefined, 'without a token');
  await refused('/metrics', undefined, 'without a token');
  await refused('/admin/tenants', asTenant, 'with a tenant token');
  await refused('/metrics', asTenant, 'with a tenant token');
  await refused('/leads', asAdmin, 'with an admin token');

  // Served, and rate limited against whoever authentication found.
  t.match(await get('/leads', asTenant), { status: 200, limit: String(limits.tenant) }, '/leads serves the tenant, counted against its tenant');
  t.match(await get('/admin/tenants', asAdmin), { status: 200, limit: String(limits.admin) }, '/admin/tenants serves the admin, counted against the admin');
  t.match(await get('/metrics', asAdmin), { status: 200 }, '/metrics serves an admin');
  t.match(await get('/console/assets/none.js'), { status: 404, limit: String(limits.anonymous) }, 'a public route needs no token, counted against the address');
  t.match(await get('/healthz'), { status: 200, limit: null }, '/healthz needs no token and is never limited');
});
