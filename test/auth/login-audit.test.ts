/**
 * Regression: logins left no trace in the tenant's trail, and the admin trail kept no user agent.
 * Successful and failed logins are recorded with the caller's address and user agent, never the
 * password; the tenant's in its own tier (on every tier), the platform admins' in the catalog.
 */
import t from 'tap';
import { provision, startTestPlatform, testApp, tiers, userWithToken } from '../helper.js';
import { liveApi } from '../support/live-api.js';
import { testSecrets } from '../support/test-secrets.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const api = await liveApi(t, await testApp(t, platform));
const userAgent = 'login-audit-test/1.0';
const headers = { 'user-agent': userAgent };
const adminLogin = (password: string, email = platform.config.admin.email) => api('POST', '/admin/auth/login', { body: { email, password }, headers });
const admin = (await adminLogin(testSecrets.STRATA_ADMIN_PASSWORD)).body.accessToken as string;

/** Failed logins are recorded once their answer is sent: wait a little for them. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let waited = 0; ; waited += 100) {
    const value = await read();
    if (done(value) || waited > 10_000) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const tier of tiers) {
  t.test(`${tier}: a user's successful and failed logins are in the tenant's trail, without the password`, async (t) => {
    const tenant = await provision(platform, tier, 'audited');
    const { user, email, password } = await userWithToken(platform, tenant, 'staff');
    t.equal((await api('POST', '/auth/login', { body: { email, password: 'a wrong guess here' }, headers })).status, 401);
    t.equal((await api('POST', '/auth/login', { body: { email, password }, headers })).status, 200);

    type Event = { action: string; actorId: string | null; entityId: string; changes: Record<string, unknown> };
    const trail = () => api('GET', `/admin/tenants/${tenant.id}/audit?entity=user&entityId=${user.id}`, { token: admin });
    const events = (await eventually(trail, (r) => r.body.items.length >= 3)).body.items as Event[];
    const failed = events.filter((e) => e.action === 'user.login-failed');
    const succeeded = events.filter((e) => e.action === 'user.login');
    t.equal(failed.length, 1, 'the failure');
    t.match(failed[0], { actorId: null, entityId: user.id, changes: { ip: '127.0.0.1', userAgent } });
    t.equal(succeeded.length, 1, 'the success');
    t.match(succeeded[0], { actorId: user.id, entityId: user.id, changes: { ip: '127.0.0.1', userAgent } });
    t.notMatch(JSON.stringify(events), /a wrong guess here|correct horse/, 'no password, wrong or right, in the trail');
  });
}

t.test("platform admins' successful and failed logins are in the admin trail with address and user agent", async (t) => {
  t.equal((await adminLogin('not the admin password')).status, 401);
  t.equal((await adminLogin('not the admin password', 'nobody@platform.example')).status, 401);
  t.equal((await adminLogin(testSecrets.STRATA_ADMIN_PASSWORD)).status, 200);
  const actions = async (action: string) =>
    (await api('GET', `/admin/audit?action=${action}&limit=10`, { token: admin })).body.items as { adminId: string | null; details: Record<string, unknown> }[];
  const failures = await actions('admin.login-failed');
  t.same(failures.map((f) => f.details.email).sort(), ['admin@strata.local', 'nobody@platform.example']);
  for (const failure of failures) t.match(failure, { adminId: null, details: { ip: '127.0.0.1', userAgent } });
  const [latest] = await actions('admin.login');
  t.match(latest, { adminId: String, details: { ip: '127.0.0.1', userAgent } });
  t.notMatch(JSON.stringify([...failures, latest]), /not the admin password|strata-admin-dev-password/, 'no password in the trail');
});
