/** What the auth endpoints must not reveal to someone without credentials. */
import { randomBytes, randomUUID } from 'node:crypto';
import t from 'tap';
import { provision, startTestPlatform, testApp, userWithToken } from '../helper.js';
import { liveApi } from '../support/live-api.js';
import { testSecrets } from '../support/test-secrets.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const api = await liveApi(t, await testApp(t, platform));
const admin = (await api('POST', '/admin/auth/login', { body: { email: platform.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD } })).body
  .accessToken;

// Regression: a random refresh token naming a suspended tenant got 423, an active one's 401.
t.test('a random refresh token gets the same answer whatever its tenant status', async (t) => {
  const randomToken = (tenantId: string) => `rt.${tenantId}.${randomBytes(32).toString('base64url')}`;
  const active = await provision(platform, 'pooled', 'oracle-active');
  const suspended = await provision(platform, 'schema', 'oracle-suspended');
  const deleted = await provision(platform, 'pooled', 'oracle-deleted');
  const holder = await userWithToken(platform, suspended, 'staff');
  const session = (await api('POST', '/auth/login', { body: { email: holder.email, password: holder.password } })).body;
  t.equal((await api('POST', `/admin/tenants/${suspended.id}/suspend`, { token: admin, body: { reason: 'test' } })).status, 200);
  t.equal((await api('DELETE', `/admin/tenants/${deleted.id}`, { token: admin })).status, 200);

  const answers = [];
  for (const [label, tenantId] of [
    ['active', active.id],
    ['suspended', suspended.id],
    ['deleted', deleted.id],
    ['unknown', randomUUID()],
  ]) {
    const response = await api('POST', '/auth/refresh', { body: { refreshToken: randomToken(tenantId!) } });
    t.equal(response.status, 401, `${label} tenant`);
    answers.push(response.body);
  }
  t.same(new Set(answers.map((a) => JSON.stringify(a))).size, 1, 'identical bodies');

  const current = await api('POST', '/auth/refresh', { body: { refreshToken: session.refreshToken } });
  t.equal(current.status, 423, 'the holder of a current token is told that its tenant is suspended');
  t.equal(current.body.code, 'STRATA_TENANT_SUSPENDED');
});
