/**
 * Regression: PATCH /admin/tenants/:id {"config": …} replaced the whole config document, so the
 * README's own walk-through (switching a feature off) erased the tenant's branding. The config is
 * now a JSON Merge Patch (RFC 7396) of the stored document, and the merged result is validated.
 */
import t from 'tap';
import { startTestPlatform, testApp } from '../helper.js';
import { adminLogin, frontDoor } from '../support/front-door.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const call = await frontDoor(await testApp(t, platform));
const admin = await adminLogin(call);

const branding = { displayName: 'Globex CRM', primaryColor: '#1f6feb', logoUrl: 'https://globex.example/logo.svg' };
const created = await call('POST', '/admin/tenants', {
  token: admin,
  body: { slug: 'globex', name: 'Globex', plan: 'starter', owner: { email: 'hank@globex.example', name: 'Hank' }, config: { branding } },
});
const id = created.json.tenant.id as string;
const patch = (config: unknown) => call('PATCH', `/admin/tenants/${id}`, { token: admin, body: { config } });
const shown = async () => (await call('GET', `/admin/tenants/${id}`, { token: admin })).json;

t.test('the admin API walk-through (docs/operations.md) keeps the branding: members left out stay', async (t) => {
  const res = await patch({ features: { deals: false }, limits: { users: 25 } });
  t.equal(res.status, 200);
  const tenant = await shown();
  t.same(tenant.config, { branding, features: { deals: false }, limits: { users: 25 } });
  t.match(tenant.settings, { branding, features: { deals: false, activities: true }, limits: { users: 25 } });
  const login = await call('POST', '/auth/login', { body: { email: 'hank@globex.example', password: created.json.owner.password } });
  t.same((await call('GET', '/settings', { token: login.json.accessToken })).json.branding, branding, 'the tenant still sees its branding');
});

t.test('null removes a member; objects merge member by member; "unlimited" lifts a limit', async (t) => {
  t.equal((await patch({ branding: { logoUrl: null, accentColor: '#00ff00' }, features: { deals: null } })).status, 200);
  t.same((await shown()).config, {
    branding: { displayName: 'Globex CRM', primaryColor: '#1f6feb', accentColor: '#00ff00' },
    features: {},
    limits: { users: 25 },
  });
  t.equal((await patch({ limits: { users: 'unlimited' } })).status, 200);
  t.equal((await shown()).settings.limits.users, null, 'no user limit');
  t.equal((await patch({ limits: { users: null }, features: null })).status, 200);
  t.equal((await shown()).settings.limits.users, 50, 'back to the plan’s limit');
  t.same((await shown()).config, { branding: { displayName: 'Globex CRM', primaryColor: '#1f6feb', accentColor: '#00ff00' }, limits: {} });
});

t.test('an invalid merged document is a 400 naming the field, and nothing changes', async (t) => {
  const before = await shown();
  for (const [config, field] of [
    [{ branding: { primaryColor: 'red' } }, 'body.config.branding.primaryColor'],
    [{ limits: { users: 0 } }, 'body.config.limits.users'],
    [{ features: { teleport: true } }, 'body.config.features'],
    [{ branding: 'plain' }, 'body.config.branding'],
    [{ branding: { displayName: 'x'.repeat(101) } }, 'body.config.branding.displayName'],
  ] as const) {
    const res = await patch(config);
    t.equal(res.status, 400, JSON.stringify(config));
    t.ok(
      res.json.errors.some((e: { field: string }) => e.field === field),
      `${field}: ${JSON.stringify(res.json.errors)}`,
    );
  }
  const after = await shown();
  t.same(after.config, before.config);
  t.equal(after.version, before.version);
});

t.test('concurrent patches of different members are all kept', async (t) => {
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all([
      patch({ branding: { displayName: `Name ${round}` } }),
      patch({ limits: { leads: 1000 + round } }),
      patch({ features: { activities: round % 2 === 0 } }),
    ]);
    t.same(
      answers.map((a) => a.status),
      [200, 200, 200],
    );
    t.match(
      (await shown()).config,
      { branding: { displayName: `Name ${round}` }, limits: { leads: 1000 + round }, features: { activities: round % 2 === 0 } },
      `round ${round}`,
    );
  }
});

t.test('the OpenAPI document says the config is a merge patch', async (t) => {
  const doc = (await call('GET', '/docs/json')).json;
  const body = doc.paths['/admin/tenants/{id}'].patch.requestBody.content['application/json'].schema;
  t.match(JSON.stringify(body), /JSON Merge Patch \(RFC 7396\)/);
});
