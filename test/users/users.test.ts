import t from 'tap';
import { bearer, provision, startTestPlatform, testApp, tiers, userWithToken } from '../helper.js';

const platform = await startTestPlatform(t);
const app = await testApp(t, platform);
type Role = 'owner' | 'admin' | 'manager' | 'staff';
const roles: Role[] = ['owner', 'admin', 'manager', 'staff'];

const as = (token: string) => ({
  get: (url: string) => app.inject({ url, headers: bearer(token) }),
  post: (url: string, payload: object) => app.inject({ method: 'POST', url, payload, headers: bearer(token) }),
  patch: (url: string, payload: object, headers: Record<string, string> = {}) =>
    app.inject({ method: 'PATCH', url, payload, headers: { ...bearer(token), ...headers } }),
  del: (url: string) => app.inject({ method: 'DELETE', url, headers: bearer(token) }),
});

for (const tier of tiers) {
  t.test(`${tier}: owners and admins manage users; created users can log in; emails are per tenant`, async (t) => {
    const tenant = await provision(platform, tier, 'users');
    const other = await provision(platform, tier, 'users-other');
    const owner = as((await userWithToken(platform, tenant, 'owner')).token);

    const created = await owner.post('/users', { email: 'New.Person@example.com', name: 'New Person', role: 'staff' });
    t.equal(created.statusCode, 201);
    const { id, temporaryPassword, email } = created.json();
    t.equal(email, 'new.person@example.com', 'stored lowercased');
    t.ok(temporaryPassword && temporaryPassword.length >= 16, 'a temporary password, shown once');
    t.notOk('temporaryPassword' in (await owner.get(`/users/${id}`)).json(), 'never shown again');

    const loggedIn = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: temporaryPassword } });
    t.equal(loggedIn.statusCode, 200, 'the new user can log in');

    const duplicate = await owner.post('/users', { email: 'new.person@EXAMPLE.com', name: 'Again' });
    t.equal(duplicate.statusCode, 409);
    t.equal(duplicate.json().code, 'STRATA_USER_EMAIL_TAKEN');
    const otherOwner = as((await userWithToken(platform, other, 'owner')).token);
    t.equal((await otherOwner.post('/users', { email, name: 'Same email, other tenant' })).statusCode, 201);

    // The other tenant's user ids are simply not there.
    t.equal((await otherOwner.get(`/users/${id}`)).statusCode, 404);
    t.equal((await otherOwner.patch(`/users/${id}`, { name: 'x' })).statusCode, 404);
    t.equal((await otherOwner.del(`/users/${id}`)).statusCode, 404);
    t.notOk((await otherOwner.get('/users?limit=100')).json().items.some((u: { id: string }) => u.id === id));

    const renamed = await owner.patch(`/users/${id}`, { name: 'Renamed', role: 'manager' }, { 'if-match': '"1"' });
    t.equal(renamed.statusCode, 200);
    t.match(renamed.json(), { name: 'Renamed', role: 'manager', version: 2 });
    t.equal((await owner.patch(`/users/${id}`, { name: 'Stale' }, { 'if-match': '"1"' })).statusCode, 409);

    t.equal((await owner.del(`/users/${id}`)).statusCode, 204);
    t.equal((await owner.get(`/users/${id}`)).json().status, 'deactivated');
    const refused = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: temporaryPassword } });
    t.equal(refused.statusCode, 401, 'a deactivated user cannot log in');
    t.equal(refused.json().code, 'STRATA_AUTH_INVALID_CREDENTIALS');
  });

  t.test(`${tier}: the last active owner cannot be demoted or deactivated`, async (t) => {
    const tenant = await provision(platform, tier, 'owners');
    const first = await userWithToken(platform, tenant, 'owner');
    const owner = as(first.token);
    for (const change of [{ role: 'admin' }, { status: 'deactivated' }]) {
      const response = await owner.patch(`/users/${first.user.id}`, change);
      t.equal(response.statusCode, 409, JSON.stringify(change));
      t.equal(response.json().code, 'STRATA_USER_LAST_OWNER');
    }
    t.equal((await owner.del(`/users/${first.user.id}`)).statusCode, 409);

    const second = await userWithToken(platform, tenant, 'owner');
    // Both owners demoted at once: one must fail, or the tenant would be left with none.
    const results = await Promise.all([
      owner.patch(`/users/${second.user.id}`, { role: 'admin' }),
      as(second.token).patch(`/users/${first.user.id}`, { role: 'admin' }),
    ]);
    t.same(results.map((r) => r.statusCode).sort(), [200, 409]);
    const owners = await platform.router.clientFor(tenant).user.count({ where: { role: 'owner', status: 'active' } });
    t.equal(owners, 1, 'exactly one owner left');
  });
}

t.test('role × action matrix', async (t) => {
  const tenant = await provision(platform, 'pooled', 'matrix');
  const tokens = Object.fromEntries(
    await Promise.all(roles.map(async (role) => [role, (await userWithToken(platform, tenant, role)).token] as const)),
  ) as Record<Role, string>;
  const target = await userWithToken(platform, tenant, 'staff');
  const anOwner = await userWithToken(platform, tenant, 'owner');
  let n = 0;
  const actions: [string, (c: ReturnType<typeof as>) => Promise<{ statusCode: number }>, Role[]][] = [
    ['list users', (c) => c.get('/users'), roles],
    ['read a user', (c) => c.get(`/users/${target.user.id}`), roles],
    ['create a user', (c) => c.post('/users', { email: `m${n++}@matrix.example`, name: 'm' }), ['owner', 'admin']],
    ['create an owner', (c) => c.post('/users', { email: `o${n++}@matrix.example`, name: 'o', role: 'owner' }), ['owner']],
    ['rename a user', (c) => c.patch(`/users/${target.user.id}`, { name: `n${n++}` }), ['owner', 'admin']],
    ['rename an owner', (c) => c.patch(`/users/${anOwner.user.id}`, { name: `n${n++}` }), ['owner']],
    ['create an admin', (c) => c.post('/users', { email: `a${n++}@matrix.example`, name: 'a', role: 'admin' }), ['owner']],
    // Each on a user of its own: the owner's change would otherwise turn the next caller's target into a manager.
    ['promote a manager to admin', async (c) => c.patch(`/users/${(await userWithToken(platform, tenant, 'manager')).user.id}`, { role: 'admin' }), ['owner']],
    ['demote an admin', async (c) => c.patch(`/users/${(await userWithToken(platform, tenant, 'admin')).user.id}`, { role: 'manager' }), ['owner']],
    ['deactivate an admin', async (c) => c.del(`/users/${(await userWithToken(platform, tenant, 'admin')).user.id}`), ['owner']],
    ['rename an admin', async (c) => c.patch(`/users/${(await userWithToken(platform, tenant, 'admin')).user.id}`, { name: `n${n++}` }), ['owner', 'admin']],
    ['demote a manager', async (c) => c.patch(`/users/${(await userWithToken(platform, tenant, 'manager')).user.id}`, { role: 'staff' }), ['owner', 'admin']],
    ['list leads', (c) => c.get('/leads'), roles],
    ['create a lead', (c) => c.post('/leads', { name: `l${n++}` }), roles],
    ['create a lead for someone else', (c) => c.post('/leads', { name: 'x', ownerId: target.user.id }), ['owner', 'admin', 'manager']],
  ];
  for (const [label, act, allowed] of actions) {
    for (const role of roles) {
      const response = await act(as(tokens[role]));
      if (allowed.includes(role)) t.ok(response.statusCode < 300, `${role} may ${label} (${response.statusCode})`);
      else t.equal(response.statusCode, 403, `${role} may not ${label}`);
    }
  }
  // Deleting leads: managers and up; staff get 403 even on their own lead.
  for (const role of roles) {
    const lead = (await as(tokens[role]).post('/leads', { name: `own ${role}` })).json();
    const response = await as(tokens[role]).del(`/leads/${lead.id}`);
    t.equal(response.statusCode, role === 'staff' ? 403 : 204, `${role} deleting a lead`);
  }
});

t.test('staff see only the leads they own or are assigned; others are 404', async (t) => {
  const tenant = await provision(platform, 'schema', 'scope');
  const manager = await userWithToken(platform, tenant, 'manager');
  const staff = await userWithToken(platform, tenant, 'staff');
  const colleague = await userWithToken(platform, tenant, 'staff');
  const m = as(manager.token);
  const own = (await as(staff.token).post('/leads', { name: 'mine' })).json();
  t.equal(own.ownerId, staff.user.id, 'a new lead belongs to its creator');
  const assigned = (await m.post('/leads', { name: 'assigned to me', assigneeId: staff.user.id })).json();
  const foreign = (await m.post('/leads', { name: "the colleague's", ownerId: colleague.user.id })).json();

  const seen = (await as(staff.token).get('/leads?limit=100'))
    .json()
    .items.map((l: { name: string }) => l.name)
    .sort();
  t.same(seen, ['assigned to me', 'mine']);
  t.equal((await m.get('/leads?limit=100')).json().items.length, 3, 'the manager sees all');
  t.equal((await as(staff.token).get(`/leads/${foreign.id}`)).statusCode, 404);
  t.equal((await as(staff.token).patch(`/leads/${foreign.id}`, { name: 'taken' })).statusCode, 404);
  t.equal((await as(staff.token).patch(`/leads/${assigned.id}`, { status: 'contacted' })).statusCode, 200);
  t.equal((await as(staff.token).patch(`/leads/${own.id}`, { assigneeId: colleague.user.id })).statusCode, 403, 'reassigning needs crm.assign');
  t.equal((await m.get(`/leads/${foreign.id}`)).json().name, "the colleague's", 'unchanged');
});

// Regression: a NUL character in a user's name reached PostgreSQL (which cannot store it) as a 500.
t.test('bad user input is a 400 problem and creates nothing', async (t) => {
  const tenant = await provision(platform, 'dedicated', 'badusers');
  const owner = as((await userWithToken(platform, tenant, 'owner')).token);
  const before = (await owner.get('/users?limit=100')).json().items.length;
  for (const body of [
    { email: 'nul@example.com', name: 'Ada\u0000' },
    { email: 'not-an-email', name: 'x' },
    { email: 'short@example.com', name: 'x', password: 'too short' },
    { email: 'role@example.com', name: 'x', role: 'superuser' },
    { email: 'extra@example.com', name: 'x', isAdmin: true },
  ]) {
    const res = await owner.post('/users', body);
    t.equal(res.statusCode, 400, JSON.stringify(body));
    t.equal(res.json().code, 'STRATA_REQUEST_INVALID');
  }
  t.equal((await owner.get('/users?limit=100')).json().items.length, before, 'nothing was written');
});
