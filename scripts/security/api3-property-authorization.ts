/**
 * API3 Broken object property level authorization: mass assignment of the properties a caller
 * must not set (tenantId, id, role, owner, author, version, timestamps, status, tier, slug…), prototype
 * pollution, and answers that expose properties they should not (hashes, secrets, tenant ids).
 */
import { randomUUID } from 'node:crypto';
import { tiers } from '../../src/tenants/placement.js';
import type { AttackContext, Sent } from './attack-context.js';
import type { Fixtures, TenantFixture } from './fixtures.js';

/** Members no answer of the tenant API may carry. */
const forbiddenMember = /hash|secret|salt|^password$|tenantId|tenant_id|tokenFamily|familyId/i;
/** Allowed where a password is shown once by design: a generated owner's or user's. */
const shownOnce = new Set(['temporaryPassword']);
/** What the trails record instead of a new password. */
const redacted = 'changed';

function exposedMembers(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => exposedMembers(v, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, member]) => [
    ...(forbiddenMember.test(key) && !shownOnce.has(key) && member !== redacted ? [`${path}.${key}`] : []),
    ...exposedMembers(member, `${path}.${key}`),
  ]);
}
const noExposed = (sent: Sent) => {
  const exposed = exposedMembers(sent.body);
  return exposed.length ? `exposes ${exposed.join(', ')}` : undefined;
};

async function massAssignment(ctx: AttackContext, f: TenantFixture, other: TenantFixture) {
  const { owner, staff, admin } = f.users;
  const as = `owner of ${f.label}`;
  const sneaked = {
    tenantId: other.id,
    tenant_id: other.id,
    id: randomUUID(),
    version: 99,
    createdAt: '2000-01-01T00:00:00Z',
    updatedAt: '2000-01-01T00:00:00Z',
  };
  for (const [member, value] of Object.entries(sneaked)) {
    const extra = { [member]: value };
    ctx.expect(`create a lead setting ${member}`, await ctx.send('POST', '/leads', { token: owner.token, as, body: { name: 'x', ...extra } }), 400);
    ctx.expect(`change a lead setting ${member}`, await ctx.send('PATCH', `/leads/${f.records.lead}`, { token: owner.token, as, body: extra }), 400);
    ctx.expect(
      `create a deal setting ${member}`,
      await ctx.send('POST', '/deals', { token: owner.token, as, body: { title: 'x', amount: '1.00', currency: 'EUR', ...extra } }),
      400,
    );
    ctx.expect(
      `create an activity setting ${member}`,
      await ctx.send('POST', '/activities', { token: owner.token, as, body: { kind: 'note', body: 'x', leadId: f.records.lead, ...extra } }),
      400,
    );
  }
  ctx.expect(
    'create an activity as someone else (authorId)',
    await ctx.send('POST', '/activities', {
      token: staff.token,
      as: `staff of ${f.label}`,
      body: { kind: 'note', body: 'x', leadId: f.records.staffLead, authorId: owner.id },
    }),
    400,
  );
  ctx.expect(
    'move an activity to another lead',
    await ctx.send('PATCH', `/activities/${f.records.activity}`, { token: owner.token, as, body: { leadId: f.records.staffLead } }),
    400,
  );
  ctx.expect(
    'staff gives its lead to a colleague (ownerId)',
    await ctx.send('PATCH', `/leads/${f.records.staffLead}`, { token: staff.token, as: `staff of ${f.label}`, body: { ownerId: owner.id } }),
    403,
  );
  ctx.expect(
    'staff creates a lead for someone else',
    await ctx.send('POST', '/leads', { token: staff.token, as: `staff of ${f.label}`, body: { name: 'x', ownerId: owner.id } }),
    403,
  );

  for (const [member, value] of Object.entries({
    passwordHash: '$argon2id$v=19$m=1,t=1,p=1$x$y',
    status: 'active',
    version: 1,
    id: randomUUID(),
    tenantId: other.id,
    lastLoginAt: '2000-01-01T00:00:00Z',
  })) {
    ctx.expect(
      `create a user setting ${member}`,
      await ctx.send('POST', '/users', {
        token: owner.token,
        as,
        body: { email: `mass-${member}@${f.slug}.example`, name: 'x', password: 'long-enough-password', [member]: value },
      }),
      400,
    );
  }
  ctx.expect(
    'change a user’s email (not changeable)',
    await ctx.send('PATCH', `/users/${staff.id}`, { token: owner.token, as, body: { email: `other@${f.slug}.example` } }),
    400,
  );
  ctx.expect(
    'an admin makes itself owner',
    await ctx.send('PATCH', `/users/${admin.id}`, { token: admin.token, as: `admin of ${f.label}`, body: { role: 'owner' } }),
    403,
  );
  ctx.expect(
    'an admin creates an owner',
    await ctx.send('POST', '/users', {
      token: admin.token,
      as: `admin of ${f.label}`,
      body: { email: `new-owner@${f.slug}.example`, name: 'x', role: 'owner', password: 'long-enough-password' },
    }),
    403,
  );
  ctx.expect(
    'staff promotes itself',
    await ctx.send('PATCH', `/users/${staff.id}`, { token: staff.token, as: `staff of ${f.label}`, body: { role: 'admin' } }),
    403,
  );
  ctx.expect(
    'staff reactivates itself / changes its status',
    await ctx.send('PATCH', `/users/${staff.id}`, { token: staff.token, as: `staff of ${f.label}`, body: { status: 'active' } }),
    403,
  );
  ctx.expect(
    'extra members on a password change',
    await ctx.send('POST', '/me/password', {
      token: staff.token,
      as: `staff of ${f.label}`,
      body: { currentPassword: staff.password, newPassword: 'long-enough-password', role: 'owner' },
    }),
    400,
  );
  ctx.expect(
    'a tenant slug on login with extra members',
    await ctx.send('POST', '/auth/login', { body: { email: staff.email, password: staff.password, tenant: f.slug, role: 'owner' } }),
    400,
  );
  ctx.expect(
    'prototype pollution in a body',
    await ctx.send('POST', '/leads', { token: owner.token, as, raw: '{"name":"x","__proto__":{"role":"owner","isAdmin":true}}' }),
    400,
  );
  ctx.expect(
    'constructor pollution in a body',
    await ctx.send('POST', '/leads', { token: owner.token, as, raw: '{"name":"x","constructor":{"prototype":{"isAdmin":true}}}' }),
    400,
  );
  ctx.expect(
    'prototype pollution on a patch',
    await ctx.send('PATCH', `/users/${staff.id}`, { token: owner.token, as, raw: '{"__proto__":{"role":"owner"}}' }),
    400,
  );
}

async function adminMassAssignment(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.pooled;
  const token = fx.adminToken;
  const as = 'platform admin';
  for (const [member, value] of Object.entries({
    tier: 'dedicated',
    status: 'active',
    slug: 'renamed',
    id: randomUUID(),
    version: 99,
    serverId: randomUUID(),
    schemaName: 'public',
    databaseName: 'postgres',
  })) {
    ctx.expect(`change a tenant’s ${member} by PATCH`, await ctx.send('PATCH', `/admin/tenants/${f.id}`, { token, as, body: { [member]: value } }), 400);
  }
  for (const [member, value] of Object.entries({ id: randomUUID(), status: 'active', schemaName: 'public', databaseName: 'postgres', version: 7 })) {
    ctx.expect(
      `create a tenant setting ${member}`,
      await ctx.send('POST', '/admin/tenants', {
        token,
        as,
        body: { slug: `mass-${fx.runId}`, name: 'x', plan: 'free', owner: { email: `o@mass-${fx.runId}.example`, name: 'o' }, [member]: value },
      }),
      400,
    );
  }
  ctx.expect(
    'set a tenant owner’s role or password on creation',
    await ctx.send('POST', '/admin/tenants', {
      token,
      as,
      body: {
        slug: `mass-${fx.runId}`,
        name: 'x',
        plan: 'free',
        owner: { email: `o@mass-${fx.runId}.example`, name: 'o', role: 'staff', password: 'chosen-by-caller' },
      },
    }),
    400,
  );
  ctx.expect(
    'unknown config members',
    await ctx.send('PATCH', `/admin/tenants/${f.id}`, { token, as, body: { config: { limits: { requestsPerMinute: 10 }, tier: 'dedicated' } } }),
    400,
  );
}

/** Every answer a tenant user reads: no hashes, secrets or tenant ids. */
async function exposure(ctx: AttackContext, fx: Fixtures) {
  for (const tier of tiers) {
    const f = fx.alpha[tier];
    const { owner } = f.users;
    const as = `owner of ${f.label}`;
    const paths = [
      '/me',
      '/users?limit=100',
      `/users/${owner.id}`,
      '/leads?limit=100',
      `/leads/${f.records.lead}`,
      '/deals',
      `/deals/${f.records.deal}`,
      '/activities',
      `/activities/${f.records.activity}`,
      '/settings',
      '/audit?limit=100',
    ];
    for (const path of paths) ctx.expect('answer exposes internal members', await ctx.send('GET', path, { token: owner.token, as }), 200, noExposed);
    const created = await ctx.send('POST', '/users', { token: owner.token, as, body: { email: `exposed-${tier}@${f.slug}.example`, name: 'x' } });
    ctx.expect('a created user exposes internal members', created, 201, noExposed);
    const refreshed = await ctx.send('POST', '/auth/refresh', {
      as,
      body: {
        refreshToken: (await ctx.send('POST', '/auth/login', { body: { email: owner.email, password: owner.password, tenant: f.slug } })).body.refreshToken,
      },
    });
    ctx.expect('a login or refresh exposes more than tokens', refreshed, 200, (s) =>
      Object.keys(s.body).sort().join() === 'accessToken,expiresIn,refreshToken,tokenType' ? undefined : `members ${Object.keys(s.body).join(', ')}`,
    );
  }
  for (const path of ['/admin/audit?limit=100', `/admin/tenants/${fx.alpha.pooled.id}/audit?limit=100`, '/admin/servers']) {
    ctx.expect('an admin answer exposes hashes or secrets', await ctx.send('GET', path, { token: fx.adminToken, as: 'platform admin' }), 200, (s) =>
      /\$argon2|"password"\s*:\s*"(?!changed")/.test(s.text) ? 'a password or hash' : undefined,
    );
  }
}

export async function propertyAuthorization(ctx: AttackContext, fx: Fixtures) {
  for (const tier of tiers) await massAssignment(ctx, fx.alpha[tier], fx.beta[tier]);
  await adminMassAssignment(ctx, fx);
  await exposure(ctx, fx);
}
