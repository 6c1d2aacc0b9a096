import t from 'tap';
import { adminToken, bearer, provision, startTestPlatform, testApp, tiers, userWithToken } from '../helper.js';

// No spare schemas: nothing here measures provisioning speed, and building them only adds load.
const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const app = await testApp(t, platform);
const admin = bearer(await adminToken(platform));

const as = (token: string) => ({
  get: (url: string) => app.inject({ method: 'GET', url, headers: bearer(token) }),
  post: (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers: bearer(token) }),
  patch: (url: string, payload: object) => app.inject({ method: 'PATCH', url, payload, headers: bearer(token) }),
  del: (url: string) => app.inject({ method: 'DELETE', url, headers: bearer(token) }),
});
const configure = (id: string, config: object) => app.inject({ method: 'PATCH', url: `/admin/tenants/${id}`, headers: admin, payload: { config } });

for (const tier of tiers) {
  t.test(`${tier}: settings, features, quotas and audit are the tenant's own`, async (t) => {
    const a = await provision(platform, tier, 'feat-a', 'starter');
    const b = await provision(platform, tier, 'feat-b', 'starter');
    const ownerA = await userWithToken(platform, a, 'owner');
    const ownerB = await userWithToken(platform, b, 'owner');
    const A = as(ownerA.token);
    const B = as(ownerB.token);

    const configured = await configure(a.id, {
      branding: { displayName: 'Alpha CRM', primaryColor: '#0a0b0c', logoUrl: 'https://alpha.example/logo.png', customDomain: 'crm.alpha.example' },
      features: { deals: false },
      limits: { leads: 3, users: 2 },
    });
    t.equal(configured.statusCode, 200, configured.body);

    // Settings: each tenant sees its own, served within the second the change was announced.
    const settingsA = (await A.get('/settings')).json();
    t.match(settingsA, {
      tenant: { id: a.id },
      plan: 'starter',
      branding: { displayName: 'Alpha CRM', customDomain: 'crm.alpha.example' },
      features: { deals: false, activities: true },
      limits: { leads: 3, users: 2 },
    });
    const settingsB = (await B.get('/settings')).json();
    t.match(settingsB, { tenant: { id: b.id }, branding: {}, features: { deals: true }, limits: { leads: 25_000, users: 50 } });
    t.notMatch(JSON.stringify(settingsB), /Alpha/, 'B learns nothing of A’s branding');

    // Feature flags: A's deals are off, B's are on.
    const dealsA = await A.get('/deals');
    t.equal(dealsA.statusCode, 403);
    t.equal(dealsA.json().code, 'STRATA_FEATURE_DISABLED');
    t.equal((await A.post('/deals', { title: 'x', amount: '1.00', currency: 'EUR' })).statusCode, 403);
    t.equal((await B.get('/deals')).statusCode, 200);

    // Lead quota under concurrency: exactly the limit gets through.
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => A.post('/leads', { name: `race ${i}` })));
    t.same(results.map((r) => r.statusCode).sort(), [201, 201, 201, 403, 403, 403], 'three created, three refused');
    const refused = results.find((r) => r.statusCode === 403)!.json();
    t.match(refused, { code: 'STRATA_QUOTA_EXCEEDED', resource: 'leads', limit: 3 });
    t.equal(await platform.router.clientFor(a).lead.count(), 3, 'never more than the limit');
    for (let i = 0; i < 4; i++) t.equal((await B.post('/leads', { name: `b ${i}` })).statusCode, 201, 'B’s quota is its own');

    // User quota counts active users: a deactivated one frees its slot, reactivating takes it again.
    const second = await A.post('/users', { email: `second@${a.slug}.example`, name: 'Second' });
    t.equal(second.statusCode, 201);
    const third = await A.post('/users', { email: `third@${a.slug}.example`, name: 'Third' });
    t.equal(third.statusCode, 403);
    t.match(third.json(), { code: 'STRATA_QUOTA_EXCEEDED', resource: 'users', limit: 2 });
    t.equal((await A.del(`/users/${second.json().id}`)).statusCode, 204);
    t.equal((await A.post('/users', { email: `third@${a.slug}.example`, name: 'Third' })).statusCode, 201, 'a freed slot can be used');
    const reactivate = await A.patch(`/users/${second.json().id}`, { status: 'active' });
    t.equal(reactivate.statusCode, 403, 'reactivating beyond the limit is refused too');

    // Audit: who changed which record, in the tenant's tier; B sees none of A's.
    const lead = results.find((r) => r.statusCode === 201)!.json();
    t.equal((await A.patch(`/leads/${lead.id}`, { status: 'contacted' })).statusCode, 200);
    const trailA = (await A.get(`/audit?entity=lead&entityId=${lead.id}`)).json();
    t.same(
      trailA.items.map((e: { action: string }) => e.action),
      ['lead.update', 'lead.create'],
    );
    t.match(trailA.items[0], { actorId: ownerA.user.id, changes: { status: 'contacted' } });
    const userTrail = (await A.get(`/audit?entity=user&entityId=${second.json().id}`)).json().items;
    t.same(
      userTrail.map((e: { action: string }) => e.action),
      ['user.update', 'user.create'],
    );
    t.match(userTrail[0].changes, { status: 'deactivated' });
    t.equal((await B.get(`/audit?entityId=${lead.id}`)).json().items.length, 0, 'B cannot read A’s trail');
    const allB = (await B.get('/audit?limit=100')).json().items;
    const deal = (await B.post('/deals', { title: 'Big one', amount: '1200.50', currency: 'EUR' })).json();
    t.equal((await B.patch(`/deals/${deal.id}`, { stage: 'won' })).statusCode, 200);
    const note = (await B.post('/activities', { kind: 'note', body: 'called', dealId: deal.id })).json();
    t.equal((await B.del(`/activities/${note.id}`)).statusCode, 204);
    const crmTrail = (await B.get('/audit?limit=4')).json().items.map((e: { action: string; entityId: string }) => [e.action, e.entityId]);
    t.same(
      crmTrail,
      [
        ['activity.delete', note.id],
        ['activity.create', note.id],
        ['deal.update', deal.id],
        ['deal.create', deal.id],
      ],
      'deals and activities are audited too',
    );
    const leadsOfB = allB.filter((e: { entity: string }) => e.entity === 'lead');
    t.equal(leadsOfB.length, 4);
    t.ok(
      leadsOfB.every((e: { actorId: string }) => e.actorId === ownerB.user.id),
      'made by B’s owner',
    );
    const idsOfA = new Set([...(await platform.router.clientFor(a).auditEvent.findMany()).map((e) => e.entityId)]);
    t.notOk(
      allB.some((e: { entityId: string }) => idsOfA.has(e.entityId)),
      'B’s trail holds none of A’s records',
    );

    const pageOne = await app.inject({ method: 'GET', url: `/admin/tenants/${a.id}/audit?limit=2`, headers: admin });
    t.equal(pageOne.statusCode, 200);
    t.equal(pageOne.json().items.length, 2);
    const pageTwo = await app.inject({ method: 'GET', url: `/admin/tenants/${a.id}/audit?limit=100&cursor=${pageOne.json().nextCursor}`, headers: admin });
    const ids = [...pageOne.json().items, ...pageTwo.json().items].map((e: { id: string }) => e.id);
    t.equal(new Set(ids).size, ids.length, 'pages do not overlap');
    t.equal(ids.length, await platform.router.clientFor(a).auditEvent.count(), 'admins page through the whole trail');

    // Roles and tokens: staff may not read the trail; tenant tokens open no admin route.
    const staff = await userWithToken(platform, b, 'staff');
    t.equal((await as(staff.token).get('/audit')).statusCode, 403);
    t.equal((await B.get(`/admin/tenants/${a.id}`)).statusCode, 401, 'usage is for admins only');
    t.equal((await B.get(`/admin/tenants/${a.id}/audit`)).statusCode, 401);

    const usageA = (await app.inject({ method: 'GET', url: `/admin/tenants/${a.id}`, headers: admin })).json().usage;
    const usageB = (await app.inject({ method: 'GET', url: `/admin/tenants/${b.id}`, headers: admin })).json().usage;
    t.match(usageA.rows, { leads: 3, users: 3 });
    t.match(usageB.rows, { leads: 4, users: 2 });
    t.ok(usageA.requests.today > 0 && usageB.requests.today > 0);
  });
}

t.test('the auditLog feature follows the plan: a free tenant’s owner cannot read the trail, an admin can', async (t) => {
  const tenant = await provision(platform, 'pooled', 'free-trail', 'free');
  const owner = await userWithToken(platform, tenant, 'owner');
  const res = await as(owner.token).get('/audit');
  t.equal(res.statusCode, 403);
  t.equal(res.json().code, 'STRATA_FEATURE_DISABLED');
  const adminView = await app.inject({ method: 'GET', url: `/admin/tenants/${tenant.id}/audit`, headers: admin });
  t.equal(adminView.statusCode, 200);
  t.match(adminView.json().items, [{ action: 'user.create', actorId: null }], 'the owner’s creation by the platform');
});
