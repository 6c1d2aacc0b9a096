// pg_terminate_backend on the runtime connections of busy tenants (every tier), idle and busy
// alike (57P01), while a listening API serves them: the process survives, a request whose statement
// lost its connection answers 503 (problem+json, Retry-After), never 500, and the next ones are served.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { adminUrl, provision, startTestPlatform, testApp, tiers, userWithToken } from '../helper.js';

const platform = await startTestPlatform(t, { STRATA_POOL_MAX: '3', STRATA_DEDICATED_POOL_MAX: '3' });
const app = await testApp(t, platform);
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

interface Answer {
  tenant: Tenant;
  what: string;
  at: number;
  status: number;
  body: string;
  retryAfter: string | null;
  contentType: string | null;
}

const answers: Answer[] = [];

async function call(tenant: Tenant, token: string | undefined, what: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = {
    tenant,
    what,
    at: performance.now(),
    status: res.status,
    body: await res.text(),
    retryAfter: res.headers.get('retry-after'),
    contentType: res.headers.get('content-type'),
  };
  answers.push(answer);
  return answer;
}

const members: { tenant: Tenant; userId: string; token: string; lead: string }[] = [];
for (const tier of tiers) {
  const tenant = await provision(platform, tier, 'terminated');
  const { user, email, password } = await userWithToken(platform, tenant, 'owner');
  const login = await call(tenant, undefined, 'login', 'POST', '/auth/login', { email, password });
  const token = JSON.parse(login.body).accessToken as string;
  const lead = JSON.parse((await call(tenant, token, 'seed', 'POST', '/leads', { name: `lead of ${tenant.slug}` })).body).id as string;
  members.push({ tenant, userId: user.id, token, lead });
}

const requests = [
  (m: (typeof members)[number]) => call(m.tenant, m.token, 'create', 'POST', '/leads', { name: `lead of ${m.tenant.slug}` }),
  (m: (typeof members)[number]) => call(m.tenant, m.token, 'list', 'GET', '/leads?limit=20'),
  (m: (typeof members)[number]) => call(m.tenant, m.token, 'read', 'GET', `/leads/${m.lead}`),
  (m: (typeof members)[number]) => call(m.tenant, m.token, 'me', 'GET', '/me'),
];

const admin = new pg.Client({ connectionString: adminUrl() });
await admin.connect();
t.teardown(() => admin.end());

/** Terminates every runtime connection to this installation's databases; their states, as they were. */
async function terminateRuntimeConnections() {
  const { rows } = await admin.query<{ state: string }>(
    `SELECT state FROM pg_stat_activity, pg_terminate_backend(pid)
      WHERE usename = $1 AND starts_with(datname, $2)`,
    [platform.config.database.runtime.role, `${platform.config.database.prefix}_`],
  );
  return rows.map((row) => row.state);
}

t.test('terminated runtime connections fail only the statements on them (503), and the next requests are served', async (t) => {
  for (const { tenant, userId, token } of members) {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; tid: string };
    t.same([claims.tid, claims.sub], [tenant.id, userId], `${tenant.slug}: the login's token names its user and tenant`);
  }
  let stop = false;
  const traffic = Promise.all(
    members.flatMap((member) =>
      [0, 1, 2].map(async (worker) => {
        for (let i = worker; !stop; i++) await requests[i % requests.length]!(member);
      }),
    ),
  );

  const killed: string[] = [];
  await sleep(300);
  const killing = performance.now();
  while (performance.now() - killing < 3_000) {
    killed.push(...(await terminateRuntimeConnections()));
    await sleep(40);
  }
  const calm = performance.now();
  await sleep(1_000);
  stop = true;
  await traffic;

  const busy = killed.filter((state) => state !== 'idle').length;
  t.ok(busy > 0 && killed.length > busy, `${killed.length} connections terminated, ${busy} of them busy`);
  const failed = answers.filter((a) => a.status >= 300);
  t.comment(`${answers.length} requests, ${failed.length} failed`);
  const unclean = failed.filter(
    (a) =>
      a.status !== 503 || !a.retryAfter || !a.contentType?.startsWith('application/problem+json') || JSON.parse(a.body).code !== 'STRATA_SERVICE_UNAVAILABLE',
  );
  t.same(
    unclean.map((a) => `${a.tenant.slug} ${a.what}: ${a.status} ${a.body.slice(0, 200)}`),
    [],
    'every failure is a 503 problem with Retry-After',
  );
  t.same(
    answers.filter((a) => a.at > calm + 200 && a.status >= 300).map((a) => `${a.tenant.slug} ${a.what}: ${a.status}`),
    [],
    'once the terminations stop, every request is served',
  );

  for (const member of members) {
    const statuses = [];
    for (const request of requests) statuses.push((await request(member)).status);
    t.same(statuses, [201, 200, 200, 200], `${member.tenant.slug}: served afterwards`);
    const listed = JSON.parse((await call(member.tenant, member.token, 'list', 'GET', '/leads?limit=100')).body).items as { name: string }[];
    t.ok(
      listed.every((lead) => lead.name === `lead of ${member.tenant.slug}`),
      `${member.tenant.slug} sees only its own leads`,
    );
  }
});
