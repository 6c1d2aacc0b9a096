/**
 * API4 Unrestricted resource consumption: bodies, strings, nesting, member counts, page sizes,
 * URLs and headers beyond the limits are refused with a 4xx (never a 5xx, never served); a flood of
 * concurrent requests on a metered tenant is cut off with 429 and Retry-After, and one user cannot
 * spend the whole tenant's budget.
 */
import { tiers } from '../../src/tenants/placement.js';
import type { AttackContext, Sent } from './attack-context.js';
import { createAccount, createTenant, type Fixtures, type TenantFixture } from './fixtures.js';

const kib = 1024;
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const hasRetryAfter = (sent: Sent) => (sent.status === 429 && !sent.headers['retry-after'] ? 'no Retry-After' : undefined);

async function oversizedInput(ctx: AttackContext, f: TenantFixture) {
  const { token } = f.users.owner;
  const as = `owner of ${f.label}`;
  const big = 'x'.repeat(300 * kib);
  ctx.expect('a 300 KiB JSON body', await ctx.send('POST', '/leads', { token, as, body: { name: 'x', company: big } }), 413);
  ctx.expect('a 300 KiB login body', await ctx.send('POST', '/auth/login', { body: { email: 'a@b.example', password: big } }), 413);
  ctx.expect('a 200 KiB name', await ctx.send('POST', '/leads', { token, as, body: { name: 'x'.repeat(200 * kib) } }), 400);
  ctx.expect(
    'a 100 KiB password on login',
    await ctx.send('POST', '/auth/login', { body: { email: f.users.staff.email, password: 'x'.repeat(100 * kib), tenant: f.slug } }),
    400,
  );
  ctx.expect(
    'a 2 KiB password on a password change',
    await ctx.send('POST', '/me/password', {
      token: f.users.staff.token,
      as: `staff of ${f.label}`,
      body: { currentPassword: f.users.staff.password, newPassword: 'x'.repeat(2 * kib) },
    }),
    400,
  );
  for (const depth of [1_000, 20_000, 120_000]) {
    ctx.expect(`JSON nested ${depth} deep in a member`, await ctx.send('POST', '/leads', { token, as, raw: `{"name":"x","company":${nested(depth)}}` }), 400);
    ctx.expect(`JSON nested ${depth} deep`, await ctx.send('POST', '/leads', { token, as, raw: nested(depth) }), 400);
  }
  ctx.expect(
    'JSON objects nested 40,000 deep',
    await ctx.send('POST', '/leads', { token, as, raw: `{"name":"x","company":${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}}` }),
    400,
  );
  ctx.expect('JSON nested 40,000 deep on login', await ctx.send('POST', '/auth/login', { raw: `{"email":${nested(40_000)}}` }), 400);
  const members = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`m${i}`, i]));
  ctx.expect('20,000 members in a body', await ctx.send('POST', '/leads', { token, as, body: { name: 'x', ...members } }), [400, 413]);
  ctx.expect('a 20,000-element array', await ctx.send('POST', '/leads', { token, as, body: { name: Array.from({ length: 20_000 }, () => 'x') } }), 400);
  for (const query of [
    'limit=1000000',
    'limit=101',
    'limit=-1',
    'limit=0',
    'limit=1e9',
    'limit=NaN',
    `cursor=${'A'.repeat(4_000)}`,
    `cursor=${'%00'.repeat(50)}`,
  ]) {
    ctx.expect(`list with ${query.slice(0, 30)}`, await ctx.send('GET', `/leads?${query}`, { token, as }), 400);
  }
  ctx.expect(
    'list with 2,000 query parameters',
    await ctx.send('GET', `/leads?${Array.from({ length: 2_000 }, (_, i) => `p${i}=1`).join('&')}`, { token, as }),
    [400, 414, 431],
  );
  ctx.expect('a 20 KiB URL', await ctx.send('GET', `/leads?status=${'x'.repeat(20 * kib)}`, { token, as }), [400, 414, 431]);
  ctx.expect('a 20 KiB header', await ctx.send('GET', '/leads', { token, as, headers: { 'x-filler': 'x'.repeat(20 * kib) } }), [0, 400, 431]);
  ctx.expect('a 1,000-character path parameter', await ctx.send('GET', `/leads/${'a'.repeat(1_000)}`, { token, as }), [400, 404, 414]);
  ctx.expect('an anonymous admin list of a billion tenants', await ctx.send('GET', '/admin/tenants?limit=1000000000', { token: 'x', as: 'anyone' }), 401);
}

async function adminLimits(ctx: AttackContext, fx: Fixtures) {
  const token = fx.adminToken;
  const as = 'platform admin';
  ctx.expect('an admin list of a million tenants', await ctx.send('GET', '/admin/tenants?limit=1000000', { token, as }), 400);
  ctx.expect('an admin audit page of a million', await ctx.send('GET', '/admin/audit?limit=1000000', { token, as }), 400);
  ctx.expect('a tenant search of 10,000 characters', await ctx.send('GET', `/admin/tenants?search=${'%25'.repeat(3_000)}`, { token, as }), 400);
  ctx.expect(
    'a suspension reason of 100 KiB',
    await ctx.send('POST', `/admin/tenants/${fx.beta.pooled.id}/suspend`, { token, as, body: { reason: 'x'.repeat(100 * kib) } }),
    400,
  );
}

/** A tenant metered at 20 requests a minute: a flood is cut off, and one user gets half of it. */
async function flood(ctx: AttackContext, fx: Fixtures) {
  const tenant = await createTenant(ctx, fx.adminToken, `atk${fx.runId}-meter`, 'pooled');
  const colleague = await createAccount(ctx, tenant.slug, tenant.owner, 'manager', 'colleague');
  const metered = await ctx.send('PATCH', `/admin/tenants/${tenant.id}`, { token: fx.adminToken, body: { config: { limits: { requestsPerMinute: 20 } } } });
  if (metered.status !== 200) return ctx.expect('meter a tenant at 20 requests a minute', metered, 200);
  const burst = ctx.quick ? 40 : 120;
  const answers = await Promise.all(Array.from({ length: burst }, () => ctx.send('GET', '/leads', { token: tenant.owner.token, throttleExpected: true })));
  const counted = (status: number) => answers.filter((a) => a.status === status).length;
  const served = counted(200);
  ctx.record(
    `${burst} concurrent requests of one user on a tenant metered at 20/min`,
    `${burst} × GET /leads as owner of ${tenant.slug}`,
    'at most 10 served (the user’s half), the rest 429 with Retry-After, none 5xx',
    `${served} served, ${counted(429)} × 429, ${answers.filter((a) => a.status >= 500).length} × 5xx`,
    served <= 10 && served + counted(429) === burst && answers.every((a) => !hasRetryAfter(a)),
  );
  ctx.expect(
    'a colleague is still served after the flood',
    await ctx.send('GET', '/leads', { token: colleague.token, as: `manager of ${tenant.slug}`, throttleExpected: true }),
    200,
  );
  const more = await Promise.all(Array.from({ length: 20 }, () => ctx.send('GET', '/leads', { token: colleague.token, throttleExpected: true })));
  ctx.record(
    'the tenant’s budget holds across users',
    `20 × GET /leads as manager of ${tenant.slug}`,
    'at most 9 more served',
    `${more.filter((a) => a.status === 200).length} served`,
    more.filter((a) => a.status === 200).length <= 9 && more.every((a) => a.status === 200 || a.status === 429),
  );
  ctx.expect('a 429 is problem+json with Retry-After', answers.find((a) => a.status === 429) ?? answers[0]!, 429, hasRetryAfter);
}

export async function resourceConsumption(ctx: AttackContext, fx: Fixtures) {
  for (const tier of ctx.quick ? (['schema'] as const) : tiers) await oversizedInput(ctx, fx.alpha[tier]);
  await adminLimits(ctx, fx);
  await flood(ctx, fx);
}
