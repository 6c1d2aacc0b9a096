import t from 'tap';
import { bearer, provision, startTestPlatform, testApp, tiers, userWithToken } from '../helper.js';

const platform = await startTestPlatform(t, { STRATA_BASE_DOMAIN: 'strata.test' });
const app = await testApp(t, platform);

const login = (body: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/auth/login', payload: body, headers });
const refresh = (refreshToken: string) => app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } });

for (const tier of tiers) {
  t.test(`${tier}: login, /me, refresh rotation, reuse detection, logout`, async (t) => {
    const tenant = await provision(platform, tier, 'login');
    const { user, email, password } = await userWithToken(platform, tenant, 'manager');

    const ok = await login({ email: email.toUpperCase(), password });
    t.equal(ok.statusCode, 200, 'emails are case-insensitive');
    const first = ok.json();
    t.match(first, { tokenType: 'Bearer', expiresIn: platform.config.jwt.ttlSeconds });
    const me = await app.inject({ url: '/me', headers: bearer(first.accessToken) });
    t.match(me.json(), { id: user.id, email, role: 'manager', tenant: { id: tenant.id, slug: tenant.slug } });
    t.notOk(JSON.stringify(me.json()).includes('password'), 'no hash ever leaves the tier');

    const second = await refresh(first.refreshToken);
    t.equal(second.statusCode, 200);
    t.not(second.json().refreshToken, first.refreshToken, 'rotated');
    t.equal((await app.inject({ url: '/me', headers: bearer(second.json().accessToken) })).statusCode, 200);

    // The first token again: someone else holds it. The whole family dies, the newest token too.
    const reused = await refresh(first.refreshToken);
    t.equal(reused.statusCode, 401);
    t.equal(reused.json().code, 'STRATA_AUTH_REFRESH_REJECTED');
    t.equal((await refresh(second.json().refreshToken)).statusCode, 401, 'family revoked');

    const third = (await login({ email, password })).json();
    t.equal((await app.inject({ method: 'POST', url: '/auth/logout', payload: { refreshToken: third.refreshToken } })).statusCode, 204);
    t.equal((await refresh(third.refreshToken)).statusCode, 401, 'logged out');
  });
}

t.test('wrong password and unknown email answer the same, in about the same time', async (t) => {
  const tenant = await provision(platform, 'pooled', 'timing');
  const { email } = await userWithToken(platform, tenant, 'staff');
  const time = async (body: object) => {
    const started = performance.now();
    const response = await login(body);
    return { ms: performance.now() - started, response };
  };
  const wrong: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 5; i++) {
    const a = await time({ email, password: 'not the password' });
    const b = await time({ email: `nobody-${i}@nowhere.example`, password: 'not the password' });
    t.equal(a.response.statusCode, 401);
    t.same(a.response.json(), b.response.json(), 'identical bodies');
    wrong.push(a.ms);
    unknown.push(b.ms);
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[2]!;
  const ratio = median(wrong) / median(unknown);
  t.comment(`median wrong password ${median(wrong).toFixed(1)} ms, unknown email ${median(unknown).toFixed(1)} ms`);
  t.ok(ratio > 0.5 && ratio < 2, `timing ratio ${ratio.toFixed(2)} within 0.5–2`);
});

t.test('an email in several tenants: the password decides, a tie asks which tenant', async (t) => {
  const [one, two, three] = [
    await provision(platform, 'pooled', 'multi-a'),
    await provision(platform, 'schema', 'multi-b'),
    await provision(platform, 'dedicated', 'multi-c'),
  ];
  const shared = 'shared@multi.example';
  const make = (tenant: typeof one, password: string) =>
    import('../../src/users/user-store.js').then(({ createUser }) =>
      createUser(
        { db: platform.router.clientFor(tenant), catalog: platform.catalog, tenantId: tenant.id },
        { email: shared, name: 'x', role: 'staff', password },
      ),
    );
  await make(one, 'same password here');
  await make(two, 'same password here');
  await make(three, 'a different password');

  const tie = await login({ email: shared, password: 'same password here' });
  t.equal(tie.statusCode, 409);
  t.equal(tie.json().code, 'STRATA_AUTH_TENANT_CHOICE');
  t.same(
    tie
      .json()
      .tenants.map((x: { slug: string }) => x.slug)
      .sort(),
    [one.slug, two.slug],
    'only tenants the password opens',
  );

  const chosen = await login({ email: shared, password: 'same password here', tenant: two.slug });
  t.equal(chosen.statusCode, 200);
  const me = await app.inject({ url: '/me', headers: bearer(chosen.json().accessToken) });
  t.equal(me.json().tenant.slug, two.slug);

  const unique = await login({ email: shared, password: 'a different password' });
  t.equal(unique.statusCode, 200);
  t.equal((await app.inject({ url: '/me', headers: bearer(unique.json().accessToken) })).json().tenant.slug, three.slug);

  const byHost = await login({ email: shared, password: 'same password here' }, { host: `${one.slug}.strata.test` });
  t.equal(byHost.statusCode, 200, 'the host names the tenant');
  t.equal((await app.inject({ url: '/me', headers: bearer(byHost.json().accessToken) })).json().tenant.slug, one.slug);
});

t.test('the host and X-Tenant may not name another tenant than the token', async (t) => {
  const a = await provision(platform, 'pooled', 'host-a');
  const b = await provision(platform, 'pooled', 'host-b');
  const { token } = await userWithToken(platform, a, 'owner');
  const at = (host: string) => app.inject({ url: '/me', headers: { ...bearer(token), host } });
  t.equal((await at(`${a.slug}.strata.test`)).statusCode, 200);
  const spoofed = await at(`${b.slug}.strata.test`);
  t.equal(spoofed.statusCode, 403);
  t.equal(spoofed.json().code, 'STRATA_TENANT_MISMATCH');
  t.equal((await app.inject({ url: '/me', headers: { ...bearer(token), 'x-tenant': b.slug } })).statusCode, 403);
});

t.test('suspended tenants and deactivated users cannot log in or refresh', async (t) => {
  const tenant = await provision(platform, 'schema', 'locked');
  const { user, email, password } = await userWithToken(platform, tenant, 'staff');
  const session = (await login({ email, password })).json();

  await platform.catalog.tenant.update({ where: { id: tenant.id }, data: { status: 'suspended', version: { increment: 1 } } });
  await platform.tenants.changed(tenant.id);
  const suspended = await login({ email, password });
  t.equal(suspended.statusCode, 423);
  t.equal(suspended.json().code, 'STRATA_TENANT_SUSPENDED');
  t.equal((await refresh(session.refreshToken)).statusCode, 423);

  await platform.catalog.tenant.update({ where: { id: tenant.id }, data: { status: 'active', version: { increment: 1 } } });
  await platform.tenants.changed(tenant.id);
  await platform.router.clientFor(tenant).user.update({ where: { tenantId_id: { tenantId: tenant.id, id: user.id } }, data: { status: 'deactivated' } });
  t.equal((await login({ email, password })).statusCode, 401, 'deactivated user');
  t.equal((await refresh(session.refreshToken)).statusCode, 401, 'and their refresh token');
});

t.test('a refresh token only works in its own tenant', async (t) => {
  const a = await provision(platform, 'pooled', 'rt-a');
  const b = await provision(platform, 'pooled', 'rt-b');
  const { email, password } = await userWithToken(platform, a, 'staff');
  const { refreshToken } = (await login({ email, password })).json();
  const [, , secret] = refreshToken.split('.');
  t.equal((await refresh(`rt.${b.id}.${secret}`)).statusCode, 401, "A's secret under B's id");
  for (const junk of ['garbage', 'rt.x.y', `rt.${a.id}.short`, `${refreshToken}.extra`]) {
    const response = await refresh(junk);
    t.equal(response.statusCode, 401, junk);
    t.equal(response.json().code, 'STRATA_AUTH_REFRESH_REJECTED');
  }
});

t.test('bad login input is a 400 problem', async (t) => {
  for (const body of [
    {},
    { email: 'not-an-email', password: 'x' },
    { email: 'a@b.example', password: '' },
    { email: 'a@b.example', password: 'x', extra: 1 },
    { email: 'a@b.example', password: 'x', tenant: 'Bad Slug' },
  ]) {
    const response = await login(body);
    t.equal(response.statusCode, 400, JSON.stringify(body));
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
  }
});
