/**
 * API5 Broken function level authorization: tenant tokens (owner and staff) on every documented
 * /admin operation, an admin token on every documented tenant operation, each role calling what
 * only a higher role may, method overrides and path spellings that might route around the checks.
 */
import { tiers } from '../../src/tenants/placement.js';
import type { AttackContext } from './attack-context.js';
import { createAccount, type Fixtures, type TenantFixture } from './fixtures.js';
import { openapiOperations } from './openapi-operations.js';

/** Routes a platform admin's token legitimately opens outside /admin. */
const adminAlsoOpens = new Set(['/metrics']);

async function wrongKindEverywhere(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.pooled;
  const operations = await openapiOperations(ctx, { id: f.id, name: 'default' });
  for (const op of operations.filter((o) => o.secured)) {
    if (op.template.startsWith('/admin') || op.template === '/metrics') {
      for (const account of [f.users.owner, f.users.staff]) {
        ctx.expect(
          'a tenant token on an admin operation',
          await ctx.send(op.method, op.path, {
            token: account.token,
            as: `${account.role} of ${f.label}`,
            body: op.method === 'GET' || op.method === 'DELETE' ? undefined : {},
          }),
          401,
        );
      }
    } else if (!adminAlsoOpens.has(op.template)) {
      ctx.expect(
        'an admin token on a tenant operation',
        await ctx.send(op.method, op.path, {
          token: fx.adminToken,
          as: 'platform admin',
          body: op.method === 'GET' || op.method === 'DELETE' ? undefined : {},
        }),
        401,
      );
    }
  }
}

async function roleMatrix(ctx: AttackContext, f: TenantFixture) {
  const { owner, admin, manager, staff } = f.users;
  const other = f.otherStaff;
  const by = (who: typeof owner) => `${who.role} of ${f.label}`;
  const newUser = (role: string) => ({ email: `bfla-${role}-${Date.now()}@${f.slug}.example`, name: 'x', role, password: 'long-enough-password' });
  ctx.expect('staff creates a user', await ctx.send('POST', '/users', { token: staff.token, as: by(staff), body: newUser('staff') }), 403);
  ctx.expect('staff renames a manager', await ctx.send('PATCH', `/users/${manager.id}`, { token: staff.token, as: by(staff), body: { name: 'x' } }), 403);
  ctx.expect(
    'staff sets a colleague’s password',
    await ctx.send('PATCH', `/users/${other.id}`, { token: staff.token, as: by(staff), body: { password: 'long-enough-password' } }),
    403,
  );
  ctx.expect('staff deletes a colleague', await ctx.send('DELETE', `/users/${other.id}`, { token: staff.token, as: by(staff) }), 403);
  ctx.expect('staff reads the audit trail', await ctx.send('GET', '/audit', { token: staff.token, as: by(staff) }), 403);
  ctx.expect('staff deletes its own lead', await ctx.send('DELETE', `/leads/${f.records.staffLead}`, { token: staff.token, as: by(staff) }), 403);
  ctx.expect('manager creates a user', await ctx.send('POST', '/users', { token: manager.token, as: by(manager), body: newUser('staff') }), 403);
  ctx.expect('manager reads the audit trail', await ctx.send('GET', '/audit', { token: manager.token, as: by(manager) }), 403);
  ctx.expect(
    'manager sets staff’s password',
    await ctx.send('PATCH', `/users/${staff.id}`, { token: manager.token, as: by(manager), body: { password: 'long-enough-password' } }),
    403,
  );
  ctx.expect(
    'manager promotes staff',
    await ctx.send('PATCH', `/users/${staff.id}`, { token: manager.token, as: by(manager), body: { role: 'manager' } }),
    403,
  );
  ctx.expect('manager deletes staff', await ctx.send('DELETE', `/users/${other.id}`, { token: manager.token, as: by(manager) }), 403);
  ctx.expect(
    'admin sets the owner’s password',
    await ctx.send('PATCH', `/users/${owner.id}`, { token: admin.token, as: by(admin), body: { password: 'long-enough-password' } }),
    403,
  );
  ctx.expect('admin demotes the owner', await ctx.send('PATCH', `/users/${owner.id}`, { token: admin.token, as: by(admin), body: { role: 'staff' } }), 403);
  ctx.expect(
    'admin deactivates the owner',
    await ctx.send('PATCH', `/users/${owner.id}`, { token: admin.token, as: by(admin), body: { status: 'deactivated' } }),
    403,
  );
  ctx.expect('admin deletes the owner', await ctx.send('DELETE', `/users/${owner.id}`, { token: admin.token, as: by(admin) }), 403);
  // A peer admin's account in two steps: demote them, then reset the (now manager's) password.
  const peer = await createAccount(ctx, f.slug, owner, 'admin', `peer-admin-${Date.now()}`);
  ctx.expect('admin demotes a peer admin', await ctx.send('PATCH', `/users/${peer.id}`, { token: admin.token, as: by(admin), body: { role: 'manager' } }), 403);
  ctx.expect(
    'admin demotes a peer admin and sets the password',
    await ctx.send('PATCH', `/users/${peer.id}`, { token: admin.token, as: by(admin), body: { role: 'staff', password: 'long-enough-password' } }),
    403,
  );
  ctx.expect(
    'admin sets a peer admin’s password',
    await ctx.send('PATCH', `/users/${peer.id}`, { token: admin.token, as: by(admin), body: { password: 'long-enough-password' } }),
    403,
  );
  ctx.expect('admin deletes a peer admin', await ctx.send('DELETE', `/users/${peer.id}`, { token: admin.token, as: by(admin) }), 403);
  ctx.expect(
    'the peer admin still logs in with their password',
    await ctx.send('POST', '/auth/login', { as: 'the peer admin', body: { email: peer.email, password: peer.password } }),
    200,
  );
  ctx.expect(
    'admin promotes a manager to admin',
    await ctx.send('PATCH', `/users/${manager.id}`, { token: admin.token, as: by(admin), body: { role: 'admin' } }),
    403,
  );
  ctx.expect('admin creates an admin', await ctx.send('POST', '/users', { token: admin.token, as: by(admin), body: newUser('admin') }), 403);
  ctx.expect(
    'the last owner demotes itself',
    await ctx.send('PATCH', `/users/${owner.id}`, { token: owner.token, as: by(owner), body: { role: 'staff' } }),
    409,
  );
  ctx.expect('the last owner deletes itself', await ctx.send('DELETE', `/users/${owner.id}`, { token: owner.token, as: by(owner) }), 409);
}

async function methodAndPathTricks(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.schema;
  const { staff, owner } = f.users;
  const as = `staff of ${f.label}`;
  for (const header of ['x-http-method-override', 'x-http-method', 'x-method-override']) {
    ctx.expect(
      `${header}: DELETE on a POST`,
      await ctx.send('POST', `/leads/${f.records.staffLead}`, { token: staff.token, as, body: {}, headers: { [header]: 'DELETE' } }),
      [404, 405],
    );
    ctx.expect(
      `${header}: DELETE on a GET`,
      await ctx.send('GET', `/leads/${f.records.staffLead}`, { token: staff.token, as, headers: { [header]: 'DELETE' } }),
      200,
    );
  }
  ctx.expect(
    '_method=DELETE in the query',
    await ctx.send('POST', `/leads/${f.records.staffLead}?_method=DELETE`, { token: staff.token, as, body: {} }),
    [404, 405],
  );
  ctx.expect('PUT on a record', await ctx.send('PUT', `/leads/${f.records.staffLead}`, { token: staff.token, as, body: { name: 'x' } }), [404, 405]);
  ctx.expect('the lead survived the overrides', await ctx.send('GET', `/leads/${f.records.staffLead}`, { token: staff.token, as }), 200);
  const spellings = [
    '//admin/tenants',
    '/ADMIN/tenants',
    '/Admin/Tenants',
    '/admin/tenants/',
    '/admin%2ftenants',
    '/admin/./tenants',
    '/x/../admin/tenants',
    '/admin/tenants;role=admin',
    '/admin/tenants%00',
    '/%61dmin/tenants',
  ];
  for (const path of spellings)
    ctx.expect(
      'a tenant owner on an admin path spelled otherwise',
      await ctx.send('GET', path, { token: owner.token, as: `owner of ${f.label}` }),
      [400, 401, 404],
    );
  for (const [name, value] of [
    ['x-role', 'admin'],
    ['x-admin', 'true'],
    ['x-forwarded-user', ctx.options.admin.email],
    ['x-original-url', '/healthz'],
    ['x-rewrite-url', '/healthz'],
  ]) {
    ctx.expect(
      `${name} header on an admin route`,
      await ctx.send('GET', '/admin/tenants', { token: owner.token, as: `owner of ${f.label}`, headers: { [name!]: value! } }),
      401,
    );
  }
}

export async function functionAuthorization(ctx: AttackContext, fx: Fixtures) {
  await wrongKindEverywhere(ctx, fx);
  for (const tier of tiers) await roleMatrix(ctx, fx.alpha[tier]);
  await methodAndPathTricks(ctx, fx);
}
