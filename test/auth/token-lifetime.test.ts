/**
 * Regression: access tokens from POST /auth/login and /auth/refresh lived 1000× their TTL (the
 * login path passed milliseconds to a library that reads seconds) while answering expiresIn: TTL.
 */
import t from 'tap';
import { provision, startTestPlatform, testApp, userWithToken } from '../helper.js';
import { decodeClaims, liveApi } from '../support/live-api.js';
import { testSecrets } from '../support/test-secrets.js';

const ttl = 2;
const platform = await startTestPlatform(t, { JWT_TTL_SECONDS: String(ttl), STRATA_SPARE_SCHEMAS: '0' });
const api = await liveApi(t, await testApp(t, platform));
const tenant = await provision(platform, 'pooled', 'lifetime');
const { email, password } = await userWithToken(platform, tenant, 'staff');

const lifetime = (token: string) => {
  const { iat, exp } = decodeClaims(token) as { iat: number; exp: number };
  return exp - iat;
};
const untilExpired = (token: string) => (decodeClaims(token).exp as number) * 1000 - Date.now() + 50;

t.test('login and refresh tokens expire TTL seconds after they are issued, and are refused after', async (t) => {
  const login = await api('POST', '/auth/login', { body: { email, password } });
  t.equal(login.status, 200);
  t.equal(login.body.expiresIn, ttl);
  t.equal(lifetime(login.body.accessToken), ttl, 'login: exp − iat is the TTL');
  t.equal((await api('GET', '/me', { token: login.body.accessToken })).status, 200);

  const refreshed = await api('POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } });
  t.equal(refreshed.status, 200);
  t.equal(refreshed.body.expiresIn, ttl);
  t.equal(lifetime(refreshed.body.accessToken), ttl, 'refresh: exp − iat is the TTL');
  t.equal((await api('GET', '/me', { token: refreshed.body.accessToken })).status, 200, 'used (and remembered as verified) before expiry');

  await new Promise((resolve) => setTimeout(resolve, untilExpired(refreshed.body.accessToken)));
  for (const token of [login.body.accessToken, refreshed.body.accessToken]) {
    const expired = await api('GET', '/me', { token });
    t.equal(expired.status, 401, 'refused once expired');
    t.equal(expired.body.code, 'STRATA_AUTH_UNAUTHENTICATED');
  }
  const again = await api('POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } });
  t.equal((await api('GET', '/me', { token: again.body.accessToken })).status, 200, 'a refresh gets a working one');
});

t.test('admin tokens expire TTL seconds after they are issued, and are refused after', async (t) => {
  const login = await api('POST', '/admin/auth/login', { body: { email: platform.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD } });
  t.equal(login.status, 200);
  t.equal(login.body.expiresIn, ttl);
  t.equal(lifetime(login.body.accessToken), ttl, 'admin login: exp − iat is the TTL');
  t.equal((await api('GET', '/admin/audit', { token: login.body.accessToken })).status, 200);
  await new Promise((resolve) => setTimeout(resolve, untilExpired(login.body.accessToken)));
  t.equal((await api('GET', '/admin/audit', { token: login.body.accessToken })).status, 401, 'refused once expired');
});
