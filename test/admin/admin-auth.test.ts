import { createHmac, randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import t from 'tap';
import { createAdminAccount } from '../../src/admin/admin-accounts.js';
import { signAdminToken } from '../../src/admin/admin-tokens.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { adminToken, bearer, provision, startTestPlatform, testApp, tokenFor } from '../helper.js';
import { testSecrets } from '../support/test-secrets.js';

// No spare schemas: nothing here measures provisioning speed, and building them only adds load.
const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const app = await testApp(t, platform);
const tenant = await provision(platform, 'pooled', 'alpha');
const { jwt } = platform.config;

const login = (body: unknown) => app.inject({ method: 'POST', url: '/admin/auth/login', payload: body as object });
const audit = (headers: Record<string, string> = {}, query = '') => app.inject({ method: 'GET', url: `/admin/audit${query}`, headers });

t.test('the bootstrap admin from the environment logs in and reaches admin routes', async (t) => {
  const res = await login({ email: 'ADMIN@strata.local', password: 'strata-admin-dev-password' });
  t.equal(res.statusCode, 200, res.body);
  const { accessToken, tokenType, expiresIn } = res.json();
  t.equal(tokenType, 'Bearer');
  t.equal(expiresIn, jwt.ttlSeconds);
  const listed = await audit(bearer(accessToken), '?action=admin.login');
  t.equal(listed.statusCode, 200, listed.body);
  t.ok(listed.json().items.length >= 1, 'the login itself is audited');
});

t.test('a second boot keeps one bootstrap admin, and its password follows the environment', async (t) => {
  await platform.catalog.adminAccount.update({ where: { email: 'admin@strata.local' }, data: { passwordHash: await hashPassword('an old password') } });
  await testApp(t, platform);
  t.equal(await platform.catalog.adminAccount.count({ where: { email: 'admin@strata.local' } }), 1);
  t.equal((await login({ email: 'admin@strata.local', password: 'an old password' })).statusCode, 401);
  t.equal((await login({ email: 'admin@strata.local', password: 'strata-admin-dev-password' })).statusCode, 200);
});

t.test('wrong password and unknown email: the same 401, both audited', async (t) => {
  const since = new Date();
  for (const body of [
    { email: 'admin@strata.local', password: 'not-the-password' },
    { email: 'nobody@strata.local', password: 'strata-admin-dev-password' },
  ]) {
    const res = await login(body);
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'STRATA_AUTH_INVALID_CREDENTIALS');
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  }
  const failures = await platform.catalog.adminAuditEvent.findMany({ where: { action: 'admin.login-failed', at: { gte: since } } });
  t.same(failures.map((f) => (f.details as { email: string }).email).sort(), ['admin@strata.local', 'nobody@strata.local']);
  t.notMatch(JSON.stringify(failures), /not-the-password/, 'passwords never reach the trail');
});

t.test('a disabled admin can neither log in nor use a token issued before', async (t) => {
  const admin = await createAdminAccount(platform.catalog, { email: 'leaver@platform.example', password: 'a long enough password' });
  const token = signAdminToken(jwt, admin);
  t.equal((await audit(bearer(token))).statusCode, 200);
  await platform.catalog.adminAccount.update({ where: { id: admin.id }, data: { disabledAt: new Date() } });
  t.equal((await audit(bearer(token))).statusCode, 401);
  t.equal((await login({ email: 'leaver@platform.example', password: 'a long enough password' })).statusCode, 401);
});

t.test('bad login input is a 400 problem naming the field', async (t) => {
  for (const body of [{ email: 'not-an-email', password: 'x' }, { email: 'admin@strata.local' }, { email: 'a@b.c', password: 'x', extra: 1 }]) {
    const res = await login(body);
    t.equal(res.statusCode, 400, JSON.stringify(body));
    t.equal(res.json().code, 'STRATA_REQUEST_INVALID');
    t.ok(res.json().errors.length > 0);
  }
});

t.test('admin routes refuse everything but an admin token', async (t) => {
  const tenantToken = tokenFor(platform, tenant);
  const key = createHmac('sha256', jwt.secret).update('strata-admin-access-tokens').digest();
  const adminClaims = { sub: (await platform.catalog.adminAccount.findFirstOrThrow()).id, email: 'x', jti: randomUUID() };
  const cases: [string, Record<string, string>][] = [
    ['no token', {}],
    ['garbage', bearer('not-a-jwt')],
    ['a tenant owner token', bearer(tenantToken)],
    // Right key but the tenant audience: audience and key both have to match.
    ['an admin-keyed token with the tenant audience', bearer(createSigner({ key, iss: jwt.issuer, aud: jwt.audience, expiresIn: 60_000 })(adminClaims))],
    [
      'the admin audience under the tenant key',
      bearer(createSigner({ key: jwt.secret, iss: jwt.issuer, aud: jwt.adminAudience, expiresIn: 60_000 })(adminClaims)),
    ],
    [
      'an expired admin token',
      bearer(createSigner({ key, iss: jwt.issuer, aud: jwt.adminAudience, expiresIn: 1, clockTimestamp: Date.now() - 60_000 })(adminClaims)),
    ],
    ['an admin token naming no account', bearer(signAdminToken(jwt, { id: randomUUID(), email: 'ghost@x.example' }))],
  ];
  for (const [name, headers] of cases) {
    const res = await audit(headers);
    t.equal(res.statusCode, 401, name);
    t.equal(res.json().code, 'STRATA_AUTH_UNAUTHENTICATED', name);
  }
});

t.test('tenant routes refuse admin tokens', async (t) => {
  const token = await adminToken(platform);
  t.equal((await audit(bearer(token))).statusCode, 200, 'the token is a working admin token');
  for (const url of ['/leads', '/me', '/users']) {
    const res = await app.inject({ method: 'GET', url, headers: bearer(token) });
    t.equal(res.statusCode, 401, url);
  }
});

t.test('the admin audience must differ from the tenant audience', async (t) => {
  const err = t.throws(() => loadConfig({ ...testSecrets, JWT_AUDIENCE: 'same', JWT_ADMIN_AUDIENCE: 'same' })) as unknown as ConfigError;
  t.same(
    err.issues.map((i) => i.key),
    ['JWT_ADMIN_AUDIENCE'],
  );
  const short = t.throws(() => loadConfig({ ...testSecrets, STRATA_ADMIN_PASSWORD: 'short' })) as unknown as ConfigError;
  t.same(
    short.issues.map((i) => i.key),
    ['STRATA_ADMIN_PASSWORD'],
  );
});
