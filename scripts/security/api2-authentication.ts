/**
 * API2 Broken authentication: tampered, unsigned and foreign tokens; tokens of the other kind
 * (admin on tenant routes and the reverse); expired tokens and ones signed with published or
 * derived keys (when the run knows the server's secret); refresh-token reuse; sessions that must end
 * at once (deactivation, demotion, password change); login oracles; brute force answered 429.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { tiers } from '../../src/tenants/placement.js';
import type { AttackContext, Sent } from './attack-context.js';
import { type Account, createAccount, type Fixtures, login, type TenantFixture } from './fixtures.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const withPayload = (token: string, change: Record<string, unknown>) => {
  const [header, , signature] = token.split('.');
  return `${header}.${b64({ ...decode(token), ...change })}.${signature}`;
};
const flipLast = (s: string) => s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);

/** Tokens built from a real one that must all be refused. */
function forgeries(real: string, other: TenantFixture): [string, string][] {
  const claims = decode(real);
  const [header, payload] = real.split('.');
  const { exp: _exp, iat: _iat, iss: _iss, aud: _aud, ...own } = claims;
  return [
    ['a tampered signature', flipLast(real)],
    ['another role under the original signature', withPayload(real, { role: claims.role === 'owner' ? 'admin' : 'owner' })],
    ['another tenant under the original signature', withPayload(real, { tid: other.id })],
    ['a later expiry under the original signature', withPayload(real, { exp: Number(claims.exp) + 86_400 })],
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`],
    ['alg none, capitalised', `${b64({ alg: 'None', typ: 'JWT' })}.${b64({ ...claims, role: 'owner' })}.`],
    ['alg HS512 with the same signature', `${b64({ alg: 'HS512', typ: 'JWT' })}.${payload}.${real.split('.')[2]}`],
    ['alg RS256 with a made-up signature', `${b64({ alg: 'RS256', typ: 'JWT' })}.${payload}.${Buffer.from(randomUUID()).toString('base64url')}`],
    ['no signature', `${header}.${payload}.`],
    ['two segments', `${header}.${payload}`],
    ['an empty token', ''],
    ['garbage', 'not-a-token'],
    [
      'signed with a published development secret',
      createSigner({ key: 'strata-development-jwt-secret-change-me', algorithm: 'HS256', iss: 'strata', aud: 'strata-api', expiresIn: 600_000 })(own),
    ],
  ];
}

const refusedAuth = (sent: Sent) => (sent.body?.code === 'STRATA_AUTH_UNAUTHENTICATED' ? undefined : `code ${sent.body?.code}`);

async function tokenForgeries(ctx: AttackContext, f: TenantFixture, other: TenantFixture) {
  for (const account of [f.users.staff, f.users.owner]) {
    for (const [what, token] of forgeries(account.token, other)) {
      ctx.expect(`token with ${what}`, await ctx.send('GET', '/me', { token, as: `${account.role} of ${f.label}` }), 401, refusedAuth);
    }
  }
  const real = f.users.owner.token;
  const as = `owner of ${f.label}`;
  ctx.expect('token in the query string', await ctx.send('GET', `/me?access_token=${real}`, { as }), [400, 401]);
  ctx.expect(
    'token as Basic credentials',
    await ctx.send('GET', '/me', { as, headers: { authorization: `Basic ${Buffer.from(`x:${real}`).toString('base64')}` } }),
    401,
  );
  ctx.expect('token in a cookie', await ctx.send('GET', '/me', { as, headers: { cookie: `token=${real}; access_token=${real}` } }), 401);
  ctx.expect('two bearer tokens', await ctx.send('GET', '/me', { as, headers: { authorization: `Bearer ${f.users.staff.token} Bearer ${real}` } }), 401);
}

/** With the server's secret: the claims and keys it checks besides the signature. */
async function keyedForgeries(ctx: AttackContext, f: TenantFixture, secret: string) {
  const claims = decode(f.users.owner.token);
  const { sub, tid, role, ver } = claims;
  const as = `owner of ${f.label}`;
  const sign = (options: Record<string, unknown>, payload: Record<string, unknown> = { sub, tid, role, ver, jti: randomUUID() }) =>
    createSigner({ key: secret, algorithm: 'HS256', iss: 'strata', aud: 'strata-api', ...options })(payload);
  ctx.expect(
    'an expired token',
    await ctx.send('GET', '/me', { as, token: sign({}, { sub, tid, role, ver, jti: randomUUID(), exp: Math.floor(Date.now() / 1000) - 5 }) }),
    401,
  );
  ctx.expect('a token of another issuer', await ctx.send('GET', '/me', { as, token: sign({ iss: 'someone-else', expiresIn: 60_000 }) }), 401);
  ctx.expect('a token without an expiry', await ctx.send('GET', '/me', { as, token: sign({}) }), 401);
  const adminAudience = sign({ aud: 'strata-admin', expiresIn: 60_000 }, { sub: randomUUID(), email: 'admin@strata.local', jti: randomUUID() });
  ctx.expect('a tenant-key token with the admin audience on /admin', await ctx.send('GET', '/admin/tenants', { as, token: adminAudience }), 401);
  const derivedKey = createHmac('sha256', secret).update('strata-admin-access-tokens').digest();
  const adminKeyTenantToken = createSigner({ key: derivedKey, algorithm: 'HS256', iss: 'strata', aud: 'strata-api', expiresIn: 60_000 })({
    sub,
    tid,
    role,
    ver,
    jti: randomUUID(),
  });
  ctx.expect('an admin-key token on a tenant route', await ctx.send('GET', '/me', { as, token: adminKeyTenantToken }), 401);
}

async function crossKinds(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.pooled;
  for (const path of ['/me', '/leads', `/leads/${f.records.lead}`, '/users', '/settings']) {
    ctx.expect('an admin token on a tenant route', await ctx.send('GET', path, { token: fx.adminToken, as: 'platform admin' }), 401);
  }
  for (const path of ['/admin/tenants', `/admin/tenants/${f.id}`, '/admin/audit', '/admin/servers']) {
    ctx.expect('a tenant owner’s token on an admin route', await ctx.send('GET', path, { token: f.users.owner.token, as: `owner of ${f.label}` }), 401);
  }
}

async function refreshReuse(ctx: AttackContext, f: TenantFixture, other: TenantFixture) {
  const user = f.otherStaff;
  const first = await login(ctx, f.slug, user.email, user.password);
  const as = `staff2 of ${f.label}`;
  const rotated = await ctx.send('POST', '/auth/refresh', { as, body: { refreshToken: first.refreshToken } });
  ctx.expect('refresh once', rotated, 200);
  ctx.expect('reuse a rotated refresh token', await ctx.send('POST', '/auth/refresh', { as, body: { refreshToken: first.refreshToken } }), 401);
  ctx.expect(
    'use the family’s current token after a reuse',
    await ctx.send('POST', '/auth/refresh', { as, body: { refreshToken: rotated.body?.refreshToken ?? 'x' } }),
    401,
  );
  const second = await login(ctx, f.slug, user.email, user.password);
  ctx.expect(
    'a refresh token moved to another tenant',
    await ctx.send('POST', '/auth/refresh', { as, body: { refreshToken: second.refreshToken.replace(f.id, other.id) } }),
    401,
  );
  ctx.expect(
    'a refresh token with a flipped character',
    await ctx.send('POST', '/auth/refresh', { as, body: { refreshToken: flipLast(second.refreshToken) } }),
    401,
  );
  ctx.expect('log out', await ctx.send('POST', '/auth/logout', { as, body: { refreshToken: second.refreshToken } }), 204);
  ctx.expect('refresh after logging out', await ctx.send('POST', '/auth/refresh', { as, body: { refreshToken: second.refreshToken } }), 401);
  ctx.expect('an access token as a refresh token', await ctx.send('POST', '/auth/refresh', { as, body: { refreshToken: user.token.slice(0, 200) } }), 401);
}

/** Changes to a user end their sessions at once, not when their token expires. */
async function sessionsEnd(ctx: AttackContext, f: TenantFixture) {
  const owner = f.users.owner;
  const as = (a: Account) => `${a.role} ${a.email}`;
  const leaver = await createAccount(ctx, f.slug, owner, 'manager', `leaver-${f.tier}`);
  ctx.expect('deactivate a user', await ctx.send('PATCH', `/users/${leaver.id}`, { token: owner.token, body: { status: 'deactivated' } }), 200);
  ctx.expect('a deactivated user’s access token', await ctx.send('GET', '/leads', { token: leaver.token, as: as(leaver) }), 401);
  ctx.expect(
    'a deactivated user’s refresh token',
    await ctx.send('POST', '/auth/refresh', { as: as(leaver), body: { refreshToken: leaver.refreshToken } }),
    401,
  );
  ctx.expect(
    'a deactivated user logs in',
    await ctx.send('POST', '/auth/login', { as: as(leaver), body: { email: leaver.email, password: leaver.password, tenant: f.slug } }),
    401,
  );

  const demoted = await createAccount(ctx, f.slug, owner, 'admin', `demoted-${f.tier}`);
  ctx.expect('demote an admin', await ctx.send('PATCH', `/users/${demoted.id}`, { token: owner.token, body: { role: 'staff' } }), 200);
  ctx.expect(
    'a demoted admin’s old token creates a user',
    await ctx.send('POST', '/users', { token: demoted.token, as: as(demoted), body: { email: `x-${f.tier}@${f.slug}.example`, name: 'x' } }),
    401,
  );

  const changer = await createAccount(ctx, f.slug, owner, 'staff', `changer-${f.tier}`);
  const changed = await ctx.send('POST', '/me/password', {
    token: changer.token,
    as: as(changer),
    body: { currentPassword: changer.password, newPassword: `${changer.password}-new` },
  });
  ctx.expect('change one’s own password', changed, 200);
  ctx.expect('the access token from before a password change', await ctx.send('GET', '/me', { token: changer.token, as: as(changer) }), 401);
  ctx.expect(
    'the refresh token from before a password change',
    await ctx.send('POST', '/auth/refresh', { as: as(changer), body: { refreshToken: changer.refreshToken } }),
    401,
  );
  ctx.expect(
    'change one’s password without the current one',
    await ctx.send('POST', '/me/password', {
      token: changed.body?.accessToken,
      as: as(changer),
      body: { currentPassword: 'wrong-password-123', newPassword: 'another-password-123' },
    }),
    403,
  );
}

/** Login answers tell nothing about which accounts exist, and passwords of one tenant open no other. */
async function loginOracles(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.schema;
  const owner = f.users.owner;
  const unknown = await ctx.send('POST', '/auth/login', { body: { email: `nobody@${f.slug}.example`, password: 'wrong-password-123' } });
  const wrong = await ctx.send('POST', '/auth/login', { as: owner.email, body: { email: owner.email, password: 'wrong-password-123' } });
  ctx.expect('log in with an unknown email', unknown, 401);
  ctx.expect('log in with a wrong password: same answer as an unknown email', wrong, 401, (s) =>
    s.body?.code === unknown.body?.code && s.body?.detail === unknown.body?.detail ? undefined : 'answers differ',
  );
  ctx.expect(
    'log in to another tenant with one’s password',
    await ctx.send('POST', '/auth/login', { as: owner.email, body: { email: owner.email, password: owner.password, tenant: fx.beta.schema.slug } }),
    401,
  );
  ctx.expect(
    'admin login with a published password',
    await ctx.send('POST', '/admin/auth/login', { body: { email: ctx.options.admin.email, password: 'strata-admin-dev-password' } }),
    401,
  );
  ctx.expect(
    'admin login with a tenant owner’s credentials',
    await ctx.send('POST', '/admin/auth/login', { as: owner.email, body: { email: owner.email, password: owner.password } }),
    401,
  );
}

/** Wrong passwords from one address lock the account there: the attempt after the limit is a 429. */
async function bruteForce(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.dedicated;
  const victim = await createAccount(ctx, f.slug, f.users.owner, 'staff', 'brute-victim');
  const tries = 8;
  const statuses: number[] = [];
  let last: Sent | undefined;
  for (let i = 0; i < tries; i++) {
    last = await ctx.send('POST', '/auth/login', { throttleExpected: true, body: { email: victim.email, password: `guess-${i}-wrong-pw`, tenant: f.slug } });
    statuses.push(last.status);
  }
  ctx.expect('guess a user’s password 8 times', last!, 429, (s) => (s.headers['retry-after'] ? undefined : 'no Retry-After'), `after ${statuses.join(',')}`);
  ctx.expect(
    'the right password while locked',
    await ctx.send('POST', '/auth/login', { throttleExpected: true, body: { email: victim.email, password: victim.password, tenant: f.slug } }),
    429,
  );
  const admin: number[] = [];
  for (let i = 0; i < tries; i++) {
    last = await ctx.send('POST', '/admin/auth/login', {
      throttleExpected: true,
      body: { email: `intruder-${fx.runId}@strata.local`, password: `guess-${i}-wrong-pw` },
    });
    admin.push(last.status);
  }
  ctx.expect('guess an admin password 8 times', last!, 429, (s) => (s.headers['retry-after'] ? undefined : 'no Retry-After'), `after ${admin.join(',')}`);
  ctx.expect('the real admin still logs in', await ctx.send('POST', '/admin/auth/login', { body: ctx.options.admin }), 200);
}

export async function brokenAuthentication(ctx: AttackContext, fx: Fixtures) {
  for (const tier of tiers) await tokenForgeries(ctx, fx.alpha[tier], fx.beta[tier]);
  if (ctx.options.jwtSecret) for (const tier of tiers) await keyedForgeries(ctx, fx.alpha[tier], ctx.options.jwtSecret);
  await crossKinds(ctx, fx);
  for (const tier of tiers) await refreshReuse(ctx, fx.alpha[tier], fx.beta[tier]);
  for (const tier of tiers) await sessionsEnd(ctx, fx.alpha[tier]);
  await loginOracles(ctx, fx);
  await bruteForce(ctx, fx);
}
