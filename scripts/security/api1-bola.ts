/**
 * API1 Broken object level authorization: every tenant record route with another tenant's ids, for
 * every pair of tiers (attacker alpha-X, victim beta-Y); guessed and neighbouring ids; filters and
 * cursors naming the other tenant's objects; staff reaching colleagues' records. The victim's
 * records are read back afterwards: nothing may have changed.
 */
import { randomUUID } from 'node:crypto';
import { tiers } from '../../src/tenants/placement.js';
import type { AttackContext, Sent } from './attack-context.js';
import type { Fixtures, TenantFixture } from './fixtures.js';

/** The record kinds of a tenant, with the id of one of the victim's and a harmless change. */
const kinds = (f: TenantFixture) => [
  { path: '/leads', id: f.records.lead, patch: { name: 'taken over' }, field: 'name', original: `Lead of ${f.label}` },
  { path: '/deals', id: f.records.deal, patch: { title: 'taken over' }, field: 'title', original: `Deal of ${f.label}` },
  { path: '/activities', id: f.records.activity, patch: { body: 'taken over' }, field: 'body', original: `Note of ${f.label}` },
  { path: '/users', id: f.users.owner.id, patch: { name: 'taken over' }, field: 'name', original: `Owner of ${f.slug}` },
];

const emptyPage = (sent: Sent) =>
  Array.isArray(sent.body?.items) && sent.body.items.length === 0 ? undefined : `${sent.body?.items?.length} items of the other tenant`;

/** A uuid one hex digit away from `id` (ids guessed from a known one). */
const neighbour = (id: string) => id.slice(0, -1) + ((parseInt(id.slice(-1), 16) + 1) % 16).toString(16);

async function crossTenant(ctx: AttackContext, attacker: TenantFixture, victim: TenantFixture) {
  const { token } = attacker.users.owner;
  const as = `owner of ${attacker.label} (victim ${victim.label})`;
  for (const kind of kinds(victim)) {
    const target = `${kind.path}/${kind.id}`;
    ctx.expect('read another tenant’s record', await ctx.send('GET', target, { token, as }), 404);
    ctx.expect('change another tenant’s record', await ctx.send('PATCH', target, { token, as, body: kind.patch }), 404);
    ctx.expect(
      'change another tenant’s record with a guessed version',
      await ctx.send('PATCH', target, { token, as, body: kind.patch, headers: { 'if-match': '"1"' } }),
      404,
    );
    ctx.expect('delete another tenant’s record', await ctx.send('DELETE', target, { token, as }), 404);
  }
  const owner = victim.users.owner.id;
  ctx.expect('list leads by another tenant’s user', await ctx.send('GET', `/leads?ownerId=${owner}`, { token, as }), 200, emptyPage);
  ctx.expect('list deals of another tenant’s lead', await ctx.send('GET', `/deals?leadId=${victim.records.lead}`, { token, as }), 200, emptyPage);
  ctx.expect('list activities of another tenant’s lead', await ctx.send('GET', `/activities?leadId=${victim.records.lead}`, { token, as }), 200, emptyPage);
  ctx.expect('list activities of another tenant’s deal', await ctx.send('GET', `/activities?dealId=${victim.records.deal}`, { token, as }), 200, emptyPage);
  ctx.expect('create a lead owned by another tenant’s user', await ctx.send('POST', '/leads', { token, as, body: { name: 'x', ownerId: owner } }), [400, 404]);
  ctx.expect(
    'create a deal on another tenant’s lead',
    await ctx.send('POST', '/deals', { token, as, body: { title: 'x', amount: '1.00', currency: 'EUR', leadId: victim.records.lead } }),
    [400, 404],
  );
  ctx.expect(
    'create an activity on another tenant’s deal',
    await ctx.send('POST', '/activities', { token, as, body: { kind: 'note', body: 'x', dealId: victim.records.deal } }),
    [400, 404],
  );
  ctx.expect(
    'reassign own lead to another tenant’s user',
    await ctx.send('PATCH', `/leads/${attacker.records.lead}`, { token, as, body: { assigneeId: owner } }),
    [400, 404],
  );
  ctx.expect(
    'name the other tenant in X-Tenant',
    await ctx.send('GET', `/leads/${victim.records.lead}`, { token, as, headers: { 'x-tenant': victim.slug } }),
    403,
  );
}

async function victimUntouched(ctx: AttackContext, victim: TenantFixture) {
  const { token } = victim.users.owner;
  for (const kind of kinds(victim)) {
    const sent = await ctx.send('GET', `${kind.path}/${kind.id}`, { token, as: `owner of ${victim.label}, after the attacks` });
    ctx.expect('the victim’s record is unchanged', sent, 200, (s) =>
      s.body?.[kind.field] === kind.original ? undefined : `${kind.field} is ${JSON.stringify(s.body?.[kind.field])}`,
    );
  }
}

async function guessedIds(ctx: AttackContext, attacker: TenantFixture, victims: TenantFixture[]) {
  const { token } = attacker.users.owner;
  const as = `owner of ${attacker.label}`;
  const guesses = [
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ...Array.from({ length: ctx.quick ? 2 : 6 }, () => randomUUID()),
  ];
  for (const path of ['/leads', '/deals', '/activities', '/users']) {
    for (const id of guesses) ctx.expect('read a guessed id', await ctx.send('GET', `${path}/${id}`, { token, as }), 404);
  }
  for (const victim of victims) {
    for (const kind of kinds(victim))
      ctx.expect('read an id next to another tenant’s', await ctx.send('GET', `${kind.path}/${neighbour(kind.id)}`, { token, as }), 404);
  }
}

/** A cursor is opaque: one taken from another tenant's listing shows the attacker only its own rows. */
async function foreignCursor(ctx: AttackContext, attacker: TenantFixture, victim: TenantFixture) {
  const page = await ctx.send('GET', '/leads?limit=1', { token: victim.users.owner.token });
  const cursor = page.body?.nextCursor as string | null;
  if (!cursor) return ctx.record('another tenant’s cursor', 'GET /leads?limit=1 as the victim', 'a next cursor', 'none (setup)', false);
  const own = new Set([attacker.records.lead, attacker.records.staffLead]);
  const sent = await ctx.send('GET', `/leads?cursor=${encodeURIComponent(cursor)}`, {
    token: attacker.users.owner.token,
    as: `owner of ${attacker.label} with ${victim.label}’s cursor`,
  });
  ctx.expect('page with another tenant’s cursor', sent, [200, 400], (s) =>
    s.status === 400 || (s.body.items as { id: string }[]).every((lead) => own.has(lead.id)) ? undefined : 'rows of another tenant',
  );
}

/** Staff see the leads they own or are assigned; a colleague's are not found. */
async function staffScope(ctx: AttackContext, f: TenantFixture) {
  const staff = f.users.staff;
  const other = f.otherStaff;
  const as = `staff of ${f.label}`;
  ctx.expect('staff reads a lead it does not own', await ctx.send('GET', `/leads/${f.records.lead}`, { token: staff.token, as }), 404);
  ctx.expect(
    'staff changes a lead it does not own',
    await ctx.send('PATCH', `/leads/${f.records.lead}`, { token: staff.token, as, body: { name: 'taken over' } }),
    404,
  );
  ctx.expect('staff reads a colleague’s lead', await ctx.send('GET', `/leads/${f.records.staffLead}`, { token: other.token, as: `staff2 of ${f.label}` }), 404);
  ctx.expect(
    'staff lists a colleague’s leads',
    await ctx.send('GET', `/leads?ownerId=${staff.id}`, { token: other.token, as: `staff2 of ${f.label}` }),
    [200, 403],
    (s) => (s.status === 403 ? undefined : emptyPage(s)),
  );
  const list = await ctx.send('GET', '/leads?limit=100', { token: staff.token, as });
  ctx.expect('staff lists leads', list, 200, (s) =>
    (s.body.items as { ownerId: string | null; assigneeId: string | null }[]).every((l) => l.ownerId === staff.id || l.assigneeId === staff.id)
      ? undefined
      : 'leads of others listed',
  );
}

export async function bola(ctx: AttackContext, fx: Fixtures) {
  for (const attackerTier of tiers) {
    for (const victimTier of tiers) await crossTenant(ctx, fx.alpha[attackerTier], fx.beta[victimTier]);
  }
  for (const tier of tiers) {
    await guessedIds(
      ctx,
      fx.alpha[tier],
      tiers.map((t) => fx.beta[t]),
    );
    await foreignCursor(ctx, fx.alpha[tier], fx.beta[tier]);
    await staffScope(ctx, fx.alpha[tier]);
  }
  for (const tier of tiers) await victimUntouched(ctx, fx.beta[tier]);
}
