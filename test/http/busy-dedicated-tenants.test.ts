// Regression: with more busy dedicated tenants than STRATA_MAX_POOLS, evicting a pool closed it under
// the requests using it (500 "Cannot use a pool after calling end on the pool", or a 503 after the
// full connection wait), and the budget was exceeded while an evicted pool's connections drained.
// Real users log in over HTTP and read and write concurrently, several rounds: no 5xx, and the
// runtime connections (pg_stat_activity) never exceed STRATA_CONNECTION_BUDGET.
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { provision, startTestPlatform, testApp, userWithToken } from '../helper.js';
import { watchRuntimeConnections } from '../support/runtime-connections.js';

const tenantCount = 30;
const budget = 12;
// Provisioning thirty databases takes minutes on a busy machine.
t.setTimeout(600_000);
const platform = await startTestPlatform(t, {
  STRATA_MAX_POOLS: '8',
  STRATA_CONNECTION_BUDGET: String(budget),
  STRATA_POOL_MAX: '2',
  STRATA_DEDICATED_POOL_MAX: '2',
});
const app = await testApp(t, platform);
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

interface Member {
  tenant: Tenant;
  userId: string;
  email: string;
  password: string;
  token: string;
  /** Leads this tenant created, by id. */
  leads: Set<string>;
}

const members: Member[] = [];
for (let i = 0; i < tenantCount; i += 5) {
  const batch = await Promise.all([0, 1, 2, 3, 4].map((j) => provision(platform, 'dedicated', `busy${i + j}`)));
  for (const tenant of batch) {
    const { user, email, password } = await userWithToken(platform, tenant, 'owner');
    members.push({ tenant, userId: user.id, email, password, token: '', leads: new Set() });
  }
}

async function call(member: Member | undefined, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(member && { authorization: `Bearer ${member.token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; tid: string };

const failures: string[] = [];
function expect(member: Member, what: string, res: { status: number; body: unknown }, status: number) {
  if (res.status !== status) failures.push(`${member.tenant.slug} ${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.status === status;
}

t.test(`${tenantCount} dedicated tenants, 8 pools, a budget of ${budget}: concurrent logins, reads and writes answer without 5xx`, async (t) => {
  const stop = await watchRuntimeConnections(t, platform);

  await Promise.all(
    members.map(async (member) => {
      const res = await call(undefined, 'POST', '/auth/login', { email: member.email, password: member.password });
      if (!expect(member, 'login', res, 200)) return;
      member.token = res.body.accessToken as string;
      const claims = claimsOf(member.token);
      if (claims.tid !== member.tenant.id || claims.sub !== member.userId) failures.push(`${member.tenant.slug}: token names ${claims.tid}/${claims.sub}`);
    }),
  );
  t.same(failures, [], 'every user logs in, with a token for their own tenant');

  for (let round = 0; round < 4; round++) {
    const started = performance.now();
    await Promise.all(
      members.flatMap((member) => [
        (async () => {
          const created = await call(member, 'POST', '/leads', { name: `${member.tenant.slug} round ${round}` });
          if (!expect(member, 'create', created, 201)) return;
          member.leads.add(created.body.id as string);
          const read = await call(member, 'GET', `/leads/${created.body.id as string}`);
          if (expect(member, 'read', read, 200) && read.body.name !== `${member.tenant.slug} round ${round}`)
            failures.push(`${member.tenant.slug} read another lead`);
        })(),
        (async () => {
          const listed = await call(member, 'GET', '/leads?limit=100');
          if (!expect(member, 'list', listed, 200)) return;
          // Its own leads only (one created concurrently may be listed before its id is known here).
          for (const lead of listed.body.items as { name: string }[]) {
            if (!lead.name.startsWith(`${member.tenant.slug} round `)) failures.push(`${member.tenant.slug} listed another tenant's lead: ${lead.name}`);
          }
        })(),
        (async () => expect(member, 'me', await call(member, 'GET', '/me'), 200))(),
      ]),
    );
    t.same(failures.splice(0), [], `round ${round}: every request answered as expected (${Math.round(performance.now() - started)} ms)`);
  }

  const most = await stop();
  t.ok(most <= budget, `at most ${most} runtime connections were open at once (budget ${budget})`);
  t.ok(platform.router.stats().pools <= 8, 'no more than 8 pools open');
  for (const member of members) {
    const listed = await call(member, 'GET', '/leads?limit=100');
    t.same(new Set((listed.body.items as { id: string }[]).map((lead) => lead.id)), member.leads, `${member.tenant.slug} holds exactly its own leads`);
  }
});
