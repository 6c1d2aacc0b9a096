import { randomUUID } from 'node:crypto';
import { createSigner, type SignerOptions } from 'fast-jwt';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { bearer, provision, startTestPlatform, testApp, tiers, tokenFor } from '../helper.js';

const platform = await startTestPlatform(t);
const app = await testApp(t, platform);
const a = await provision(platform, 'pooled', 'alpha');
const b = await provision(platform, 'pooled', 'beta');
const { secret, issuer, audience } = platform.config.jwt;

const listLeads = (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/leads', headers });
const asBearer = (token: string) => listLeads(bearer(token));

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (tenant: Tenant) => ({ sub: randomUUID(), tid: tenant.id, role: 'owner', jti: randomUUID() });

/** Signs like the API does unless an option says otherwise. */
function sign(claims: Record<string, unknown>, options: Partial<SignerOptions> & { key?: string } = {}) {
  return createSigner({ key: secret, algorithm: 'HS256', iss: issuer, aud: audience, expiresIn: 60_000, ...options })(claims);
}

const unauthenticated = {
  type: 'https://strata.dev/problems/strata-auth-unauthenticated',
  title: 'Authentication is required',
  status: 401,
  code: 'STRATA_AUTH_UNAUTHENTICATED',
  detail: 'A valid bearer token is required',
};

// The same answer for every bad token: the reason would tell an attacker what to fix.
const refused: [string, () => Record<string, string>][] = [
  ['no token', () => ({})],
  ['a garbage token', () => bearer('not-a-jwt')],
  ['a token under another scheme', () => ({ authorization: `Basic ${tokenFor(platform, a)}` })],
  [
    'an alg:none token',
    () => {
      const exp = Math.floor(Date.now() / 1000) + 60;
      return bearer(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claimsOf(a), iss: issuer, aud: audience, exp })}.`);
    },
  ],
  ['HS256 with another secret', () => bearer(sign(claimsOf(a), { key: 'another-secret-that-is-long-enough-to-use' }))],
  ['HS512 with the right secret', () => bearer(sign(claimsOf(a), { algorithm: 'HS512' }))],
  ['an expired token', () => bearer(sign(claimsOf(a), { clockTimestamp: Date.now() - 3_600_000 }))],
  ['a token without exp', () => bearer(sign(claimsOf(a), { expiresIn: undefined }))],
  ['a token not yet valid', () => bearer(sign(claimsOf(a), { notBefore: 3_600_000 }))],
  ['a wrong audience', () => bearer(sign(claimsOf(a), { aud: 'someone-else' }))],
  ['a wrong issuer', () => bearer(sign(claimsOf(a), { iss: 'someone-else' }))],
  [
    "a payload switched to B's tenant under A's signature",
    () => {
      const [header, payload, signature] = tokenFor(platform, a).split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      return bearer(`${header}.${b64url({ ...claims, tid: b.id })}.${signature}`);
    },
  ],
  ['a tenant that does not exist', () => bearer(sign({ ...claimsOf(a), tid: randomUUID() }))],
  ['a tid that is not a uuid', () => bearer(sign({ ...claimsOf(a), tid: a.slug }))],
  ['an unknown role', () => bearer(sign({ ...claimsOf(a), role: 'superuser' }))],
  ['no jti', () => bearer(sign({ sub: randomUUID(), tid: a.id, role: 'owner' }))],
];

for (const [name, headers] of refused) {
  t.test(`${name} → 401`, async (t) => {
    const res = await listLeads(headers());
    t.equal(res.statusCode, 401);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.same(res.json(), unauthenticated);
  });
}

t.test('valid tokens of A and of B → 200', async (t) => {
  // The controls for the forged cases above: both tenants are otherwise welcome.
  t.equal((await asBearer(tokenFor(platform, a))).statusCode, 200);
  t.equal((await asBearer(tokenFor(platform, b))).statusCode, 200);
  t.equal((await asBearer(sign(claimsOf(a)))).statusCode, 200, 'the test signer matches the API');
});

t.test('a token served before is refused once it expires: remembered tokens expire with it', async (t) => {
  // Signed with whole seconds: exp lands 1–2 s from now.
  const token = sign(claimsOf(a), { expiresIn: 1_000 });
  t.equal((await asBearer(token)).statusCode, 200, 'verified, and now remembered');
  const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
  await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
  const res = await asBearer(token);
  t.equal(res.statusCode, 401);
  t.same(res.json(), unauthenticated);
});

async function setStatus(tenant: Tenant, status: Tenant['status']) {
  await platform.catalog.tenant.update({ where: { id: tenant.id }, data: { status } });
  await platform.tenants.changed(tenant.id);
}

for (const tier of tiers) {
  t.test(`${tier}: a suspended tenant is refused on its next request and served again once reactivated`, async (t) => {
    const tenant = await provision(platform, tier, 'paused');
    const token = tokenFor(platform, tenant);
    t.equal((await asBearer(token)).statusCode, 200, 'the directory has the tenant cached as active');

    await setStatus(tenant, 'suspended');
    const res = await asBearer(token);
    t.equal(res.statusCode, 423);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.equal(res.json().code, 'STRATA_TENANT_SUSPENDED');
    t.equal((await app.inject({ method: 'POST', url: '/leads', headers: bearer(token), payload: { name: 'x' } })).statusCode, 423);

    await setStatus(tenant, 'active');
    t.equal((await asBearer(token)).statusCode, 200);
    t.equal(await platform.router.clientFor(tenant).lead.count(), 0, 'nothing was written while suspended');
  });
}

t.test('deleted and still-provisioning tenants are unavailable', async (t) => {
  const tenant = await provision(platform, 'pooled', 'gone');
  for (const status of ['deleted', 'provisioning'] as const) {
    await setStatus(tenant, status);
    const res = await asBearer(tokenFor(platform, tenant));
    t.equal(res.statusCode, 403, status);
    t.equal(res.json().code, 'STRATA_TENANT_UNAVAILABLE', status);
  }
});

t.test('problem bodies carry no stack or internal message', async (t) => {
  const responses = [
    await listLeads(bearer('not-a-jwt')),
    await listLeads({ ...bearer(tokenFor(platform, a)), 'x-tenant': b.slug }),
    await app.inject({ method: 'GET', url: `/leads/${randomUUID()}`, headers: bearer(tokenFor(platform, a)) }),
  ];
  for (const res of responses) {
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} is a client error`);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    const body = res.json();
    t.same(Object.keys(body).sort(), ['code', 'detail', 'status', 'title', 'type']);
    t.notMatch(res.payload, /stack|at .*\.(ts|js):\d+|FST_|FAST_JWT|prisma|postgres/i);
  }
});

t.test('a tenant whose database is unreachable gets an opaque 503; other tenants are served', async (t) => {
  // An outage of one tenant's database: say so (retry later), but nothing about it may reach the client.
  const tenant = await provision(platform, 'dedicated', 'lost');
  const databaseName = `${tenant.databaseName}_missing`;
  await platform.catalog.tenant.update({ where: { id: tenant.id }, data: { databaseName } });
  await platform.tenants.changed(tenant.id);

  const res = await asBearer(tokenFor(platform, tenant));
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '5');
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.same(Object.keys(res.json()).sort(), ['code', 'detail', 'status', 'title', 'type']);
  t.equal(res.json().code, 'STRATA_SERVICE_UNAVAILABLE');
  t.notOk(res.payload.includes(databaseName));
  t.notMatch(res.payload, /prisma|postgres|P100/i);

  const healthy = await provision(platform, 'dedicated', 'healthy');
  t.equal((await asBearer(tokenFor(platform, healthy))).statusCode, 200, 'another dedicated tenant is served');
});
