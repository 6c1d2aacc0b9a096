import t from 'tap';
import { startTestPlatform, testApp } from '../helper.js';

const platform = await startTestPlatform(t);
const app = await testApp(t, platform);

t.test('/healthz answers ok without a token', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok' });
});

t.test('/readyz answers ok while the catalog and the default server answer', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { status: 'ok' });
});

t.test('an unknown route is a problem, not an HTML page or an auth error', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/no-such-route?secret=1' });
  t.equal(res.statusCode, 404);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  const body = res.json();
  t.equal(body.code, 'STRATA_ROUTE_NOT_FOUND');
  t.equal(body.status, 404);
  t.notMatch(body.detail, /secret/, 'the query string is not echoed back');
});

t.test('an unsupported method on a known path is a route-not-found problem too', async (t) => {
  const res = await app.inject({ method: 'PUT', url: '/healthz' });
  t.equal(res.statusCode, 404);
  t.equal(res.json().code, 'STRATA_ROUTE_NOT_FOUND');
});

t.test('/readyz answers 503 once the databases are gone', async (t) => {
  // A platform of its own: closing it must not disturb the app above.
  const closing = await startTestPlatform(t);
  const closingApp = await testApp(t, closing);
  await closing.close();
  const res = await closingApp.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 503);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.equal(res.json().code, 'STRATA_SERVICE_UNAVAILABLE');
  t.notOk('stack' in res.json());
});
