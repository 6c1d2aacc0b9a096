/**
 * Regression (found by `npm run attack`, API4): a JSON body nested 20,000 levels deep answered 500
 * (the input walk ran out of stack), on every route, login included. Deep input is now a 400 naming
 * the field, and writes nothing.
 */
import t from 'tap';
import { maxInputDepth } from '../../src/http/schema-parts.js';
import { provision, startTestPlatform, userWithToken } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const { api, raw, adminLogin } = await liveAdmin(t, platform);
const tenant = await provision(platform, 'schema', 'nested');
const owner = await userWithToken(platform, tenant, 'owner');
const login = await api('POST', '/auth/login', { body: { email: owner.email, password: owner.password } });
const token = login.body.accessToken as string;
const admin = await adminLogin();

const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

t.test('regression: deep JSON answered 500; now a 400 naming the field, and nothing is written', async (t) => {
  const cases: [string, string, string, string | undefined][] = [
    ['arrays 20,000 deep in a member', '/leads', `{"name":"x","company":${arrays(20_000)}}`, token],
    ['arrays 120,000 deep as the body', '/leads', arrays(120_000), token],
    ['objects 40,000 deep in a member', '/leads', `{"name":"x","company":${objects(40_000)}}`, token],
    ['arrays 40,000 deep on login', '/auth/login', `{"email":${arrays(40_000)}}`, undefined],
    ['objects 40,000 deep on an admin route', '/admin/tenants', `{"slug":"deep","config":${objects(40_000)}}`, admin],
  ];
  for (const [what, path, body, bearer] of cases) {
    const res = await raw('POST', path, { token: bearer, body: Buffer.from(body), type: 'application/json' });
    const problem = (await res.json()) as { code: string; errors?: { field: string; message: string }[] };
    t.equal(res.status, 400, `${what}: 400`);
    t.equal(problem.code, 'STRATA_REQUEST_INVALID', what);
    t.match(problem.errors?.[0], { field: /^body/, message: /nests too deeply/ }, `${what}: the field is named`);
  }
  const leads = await api('GET', '/leads', { token });
  t.same(leads.body.items, [], 'no lead was written');
});

t.test(`input nested ${maxInputDepth} levels deep is still read`, async (t) => {
  const config = { branding: { displayName: 'Shallow' } };
  const res = await api('POST', '/admin/tenants', {
    token: admin,
    body: { slug: 'shallow-enough', name: 'x', plan: 'free', config, owner: { email: 'o@shallow.example', name: 'o' } },
  });
  t.equal(res.status, 201);
  const deepest = await raw('POST', '/leads', { token, body: Buffer.from(`{"name":"x","company":${arrays(maxInputDepth - 1)}}`), type: 'application/json' });
  const problem = (await deepest.json()) as { errors?: { message: string }[] };
  t.equal(deepest.status, 400, 'refused by the lead schema (company is text)…');
  t.notMatch(problem.errors?.[0]?.message, /nests too deeply/, '…not for its depth');
});
