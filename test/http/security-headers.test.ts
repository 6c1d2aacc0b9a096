/**
 * Regression: token and archive answers could be cached (no Cache-Control), API answers could be
 * sniffed as another content type, and /docs could be framed (clickjacking). Checked on real
 * answers of a listening API, errors included.
 */
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { adminToken, provision, startTestPlatform, userWithToken } from '../helper.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0', STRATA_RATE_LIMIT_ANON_PER_MINUTE: '30' });
const app = await buildApp({ config: platform.config, platform });
// A route that fails as a bug would, to see a 500's headers.
app.get('/test-only/failing', async () => {
  throw new Error('boom');
});
t.teardown(() => app.close());
const base = await app.listen({ host: '127.0.0.1', port: 0 });

const tenant = await provision(platform, 'pooled', 'headers');
const user = await userWithToken(platform, tenant, 'owner');
const admin = await adminToken(platform);
const json = { 'content-type': 'application/json' };

function apiHeaders(t: Test, res: Response, what: string) {
  t.equal(res.headers.get('cache-control'), 'no-store', `${what} (${res.status}): Cache-Control: no-store`);
  t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  t.equal(res.headers.get('x-frame-options'), 'DENY', `${what}: not framed`);
  t.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/, `${what}: frame-ancestors 'none'`);
}

t.test('regression: /docs could be framed; its static assets stay cacheable', async (t) => {
  const page = await fetch(`${base}/docs/`);
  const html = await page.text();
  t.equal(page.status, 200);
  t.equal(page.headers.get('x-frame-options'), 'DENY');
  t.match(page.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  const asset = /src="\.?\/?(static\/[^"]+\.js)"/.exec(html)?.[1] ?? 'static/swagger-ui-bundle.js';
  const res = await fetch(`${base}/docs/${asset}`);
  t.equal(res.status, 200, `${asset} is served`);
  t.not(res.headers.get('cache-control'), 'no-store', 'a static asset may be cached');
  t.equal(res.headers.get('x-content-type-options'), 'nosniff');
});

t.test('every API answer is uncached, unsniffed and unframeable, errors included', async (t) => {
  const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email: user.email, password: user.password }) });
  t.equal(login.status, 200);
  apiHeaders(t, login, 'the token pair');
  const adminLogin = await fetch(`${base}/admin/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email: 'admin@strata.local', password: 'strata-admin-dev-password' }),
  });
  t.equal(adminLogin.status, 200);
  apiHeaders(t, adminLogin, 'the admin token');
  const archive = await fetch(`${base}/admin/tenants/${tenant.id}/export`, { headers: { authorization: `Bearer ${admin}` } });
  t.equal(archive.status, 200);
  await archive.arrayBuffer();
  apiHeaders(t, archive, 'a tenant archive');
  const leads = await fetch(`${base}/leads`, { headers: { authorization: `Bearer ${user.token}` } });
  t.equal(leads.status, 200);
  apiHeaders(t, leads, 'tenant data');

  const cases: [string, RequestInit, number][] = [
    ['/leads', {}, 401],
    ['/leads', { method: 'POST', headers: { authorization: `Bearer ${user.token}`, ...json }, body: '{"name":' }, 400],
    ['/no-such-route', {}, 404],
    ['/%E0%A4%A', {}, 400],
    ['/test-only/failing', {}, 500],
  ];
  for (const [path, init, status] of cases) {
    const res = await fetch(`${base}${path}`, init);
    t.equal(res.status, status, `${path} answers ${status}`);
    apiHeaders(t, res, path);
  }
  let limited: Response | undefined;
  for (let i = 0; i < 40 && !limited; i++) {
    const res = await fetch(`${base}/docs/json`);
    if (res.status === 429) limited = res;
  }
  t.ok(limited, 'a 429 came');
  apiHeaders(t, limited!, 'a 429');
});
