/**
 * API6 Unrestricted access to sensitive business flows, attacked with truly concurrent requests:
 * onboarding one slug twice, purging one tenant twice, changing one password twice, rotating one
 * refresh token twice, taking one email twice, overshooting a quota, and two owners demoting each
 * other. Each race must have exactly the outcomes one-at-a-time requests could have.
 */
import { randomBytes } from 'node:crypto';
import type { AttackContext, Sent } from './attack-context.js';
import { createAccount, createTenant, type Fixtures, login } from './fixtures.js';

const statuses = (answers: Sent[]) =>
  answers
    .map((a) => a.status)
    .sort()
    .join(',');
const count = (answers: Sent[], status: number) => answers.filter((a) => a.status === status).length;

async function slugRaces(ctx: AttackContext, fx: Fixtures) {
  const rounds = ctx.quick ? 2 : 5;
  for (let round = 0; round < rounds; round++) {
    const slug = `atk${fx.runId}-race${round}`;
    const answers = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        ctx.send('POST', '/admin/tenants', {
          token: fx.adminToken,
          body: { slug, name: `Race ${i}`, plan: 'free', tier: 'pooled', owner: { email: `owner${i}@${slug}.example`, name: `Owner ${i}` } },
        }),
      ),
    );
    const listed = await ctx.send('GET', `/admin/tenants?search=${slug}`, { token: fx.adminToken });
    const winner = answers.find((a) => a.status === 201);
    const logins = await Promise.all(
      answers.map((_, i) =>
        ctx.send('POST', '/auth/login', { body: { email: `owner${i}@${slug}.example`, password: winner?.body.owner.password ?? 'x', tenant: slug } }),
      ),
    );
    const pass = count(answers, 201) === 1 && count(answers, 409) === 3 && listed.body?.items?.length === 1 && count(logins, 200) === 1;
    ctx.record(
      '4 concurrent onboardings of one slug',
      `4 × POST /admin/tenants {slug: ${slug}} (round ${round + 1})`,
      'one 201, three 409, one tenant, one owner who logs in',
      `${statuses(answers)}; ${listed.body?.items?.length} tenant(s); ${count(logins, 200)} owner login(s)`,
      pass,
    );
  }
}

async function purgeRaces(ctx: AttackContext, fx: Fixtures) {
  const rounds = ctx.quick ? 1 : 3;
  for (let round = 0; round < rounds; round++) {
    const tenant = await createTenant(ctx, fx.adminToken, `atk${fx.runId}-purge${round}`, round % 2 ? 'schema' : 'pooled');
    await ctx.send('DELETE', `/admin/tenants/${tenant.id}`, { token: fx.adminToken });
    const answers = await Promise.all(Array.from({ length: 3 }, () => ctx.send('POST', `/admin/tenants/${tenant.id}/purge`, { token: fx.adminToken })));
    const pass = count(answers, 200) === 1 && count(answers, 409) === 2 && answers.every((a) => a.status < 500);
    ctx.record(
      '3 concurrent purges of one tenant',
      `3 × POST /admin/tenants/${tenant.id}/purge (round ${round + 1})`,
      'one 200, two 409',
      statuses(answers),
      pass,
    );
    const archive = answers.find((a) => a.status === 200)?.body?.archive as string | undefined;
    ctx.record(
      'a purge answer names a host path',
      `POST /admin/tenants/${tenant.id}/purge`,
      'a file name only',
      String(archive),
      !!archive && !archive.includes('/') && !archive.includes('\\'),
    );
  }
}

async function passwordRaces(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.pooled;
  const rounds = ctx.quick ? 2 : 5;
  for (let round = 0; round < rounds; round++) {
    const user = await createAccount(ctx, f.slug, f.users.owner, 'staff', `pwrace${round}`);
    const candidates = [`first-${randomBytes(6).toString('hex')}`, `second-${randomBytes(6).toString('hex')}`];
    const answers = await Promise.all(
      candidates.map((newPassword) => ctx.send('POST', '/me/password', { token: user.token, body: { currentPassword: user.password, newPassword } })),
    );
    const opens: number[] = [];
    for (const password of candidates) opens.push((await ctx.send('POST', '/auth/login', { body: { email: user.email, password, tenant: f.slug } })).status);
    const old = await ctx.send('POST', '/auth/login', { body: { email: user.email, password: user.password, tenant: f.slug } });
    const pass =
      count(answers, 200) === 1 &&
      answers.every((a) => [200, 401, 403, 409].includes(a.status)) &&
      opens.filter((s) => s === 200).length === 1 &&
      old.status === 401;
    ctx.record(
      '2 concurrent password changes from one session',
      `2 × POST /me/password as ${user.email}`,
      'one 200; exactly its password opens the account, the old one does not',
      `${statuses(answers)}; new passwords log in: ${opens.join(',')}; old: ${old.status}`,
      pass,
    );
  }
}

async function refreshRaces(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.schema;
  const rounds = ctx.quick ? 2 : 5;
  for (let round = 0; round < rounds; round++) {
    const { refreshToken } = await login(ctx, f.slug, f.users.manager.email, f.users.manager.password);
    const answers = await Promise.all(Array.from({ length: 5 }, () => ctx.send('POST', '/auth/refresh', { body: { refreshToken } })));
    ctx.record(
      '5 concurrent refreshes of one token',
      `5 × POST /auth/refresh as manager of ${f.label}`,
      'at most one 200, the rest 401',
      statuses(answers),
      count(answers, 200) <= 1 && count(answers, 401) === 5 - count(answers, 200),
    );
  }
}

async function uniqueEmailRaces(ctx: AttackContext, fx: Fixtures) {
  const f = fx.alpha.dedicated;
  const rounds = ctx.quick ? 2 : 5;
  for (let round = 0; round < rounds; round++) {
    const email = `twin${round}@${f.slug}.example`;
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        ctx.send('POST', '/users', { token: f.users.owner.token, body: { email, name: 'Twin', password: 'long-enough-password' } }),
      ),
    );
    ctx.record(
      '4 concurrent creations of one email',
      `4 × POST /users {email: ${email}}`,
      'one 201, three 409',
      statuses(answers),
      count(answers, 201) === 1 && count(answers, 409) === 3,
    );
  }
}

async function quotaRace(ctx: AttackContext, fx: Fixtures) {
  const tenant = await createTenant(ctx, fx.adminToken, `atk${fx.runId}-quota`, 'schema');
  // The owner is user 1 of 3.
  const limited = await ctx.send('PATCH', `/admin/tenants/${tenant.id}`, { token: fx.adminToken, body: { config: { limits: { users: 3, leads: 5 } } } });
  if (limited.status !== 200) return ctx.expect('limit a tenant to 3 users', limited, 200);
  const users = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      ctx.send('POST', '/users', { token: tenant.owner.token, body: { email: `q${i}@${tenant.slug}.example`, name: 'q', password: 'long-enough-password' } }),
    ),
  );
  ctx.record(
    '8 concurrent user creations, 2 places left',
    `8 × POST /users as owner of ${tenant.slug}`,
    'two 201, six 403 quota',
    statuses(users),
    count(users, 201) === 2 && count(users, 403) === 6,
  );
  const leads = await Promise.all(Array.from({ length: 12 }, (_, i) => ctx.send('POST', '/leads', { token: tenant.owner.token, body: { name: `q${i}` } })));
  ctx.record(
    '12 concurrent lead creations, limit 5',
    `12 × POST /leads as owner of ${tenant.slug}`,
    'five 201, seven 403 quota',
    statuses(leads),
    count(leads, 201) === 5 && count(leads, 403) === 7,
  );
}

async function ownersDemotingEachOther(ctx: AttackContext, fx: Fixtures) {
  const rounds = ctx.quick ? 1 : 3;
  for (let round = 0; round < rounds; round++) {
    const tenant = await createTenant(ctx, fx.adminToken, `atk${fx.runId}-owners${round}`, 'pooled');
    const second = await createAccount(ctx, tenant.slug, tenant.owner, 'owner', 'second-owner');
    const answers = await Promise.all([
      ctx.send('PATCH', `/users/${second.id}`, { token: tenant.owner.token, body: { status: 'deactivated' } }),
      ctx.send('PATCH', `/users/${tenant.owner.id}`, { token: second.token, body: { status: 'deactivated' } }),
    ]);
    let active = 0;
    for (const owner of [tenant.owner, second]) {
      const opened = await ctx.send('POST', '/auth/login', { body: { email: owner.email, password: owner.password, tenant: tenant.slug } });
      if (opened.status === 200)
        active = (await ctx.send('GET', '/users?role=owner&status=active', { token: opened.body.accessToken })).body?.items?.length ?? 0;
      if (active) break;
    }
    ctx.record(
      'two owners deactivate each other at once',
      `PATCH /users/<other owner> × 2 in ${tenant.slug}`,
      'an active owner remains',
      `${statuses(answers)}; ${active} active owner(s)`,
      active >= 1 && answers.every((a) => a.status < 500),
    );
  }
}

export async function businessFlows(ctx: AttackContext, fx: Fixtures) {
  await slugRaces(ctx, fx);
  await purgeRaces(ctx, fx);
  await passwordRaces(ctx, fx);
  await refreshRaces(ctx, fx);
  await uniqueEmailRaces(ctx, fx);
  await quotaRace(ctx, fx);
  await ownersDemotingEachOther(ctx, fx);
}
