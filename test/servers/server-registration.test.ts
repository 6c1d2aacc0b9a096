/**
 * Regression: servers could only be registered by code. `npm run server` and /admin/servers
 * register a bare PostgreSQL (roles, tenants database, pooled tables), list it, cordon and uncordon it.
 */
import pg from 'pg';
import t from 'tap';
import { adminUrl, startTestPlatform, testApp } from '../helper.js';
import { startPrivatePostgres } from '../support/extra-server.js';
import { freePort } from '../../src/platform/throwaway-postgres.js';
import { decodeClaims, liveApi } from '../support/live-api.js';
import { runScript } from '../support/run-script.js';
import { testSecrets } from '../support/test-secrets.js';

// Each operator command starts a platform of its own: several of them take a while on a busy machine.
t.setTimeout(360_000);
// Started first so it stops last (teardowns run in reverse): the platform closes its connections to it before it goes.
const far = await startPrivatePostgres(t, 'far');
const platform = await startTestPlatform(t);
const api = await liveApi(t, await testApp(t, platform));
const prefix = platform.config.database.prefix;
// The superuser password of the new server reaches both the CLI and the API only through this reference.
process.env.FAR_SUPERUSER_PASSWORD = decodeURIComponent(new URL(far.url).password);
const server = (...args: string[]) => runScript('server', args, { DATABASE_URL: adminUrl(), STRATA_DB_PREFIX: prefix, REDIS_URL: '' });
const addFar = ['add', 'far', '--host', '127.0.0.1', '--port', String(far.port), '--bootstrap-secret', 'env:FAR_SUPERUSER_PASSWORD'];

const { body: login } = await api('POST', '/admin/auth/login', {
  body: { email: platform.config.admin.email, password: testSecrets.STRATA_ADMIN_PASSWORD },
});
const admin = login.accessToken as string;

async function onFar<T>(database: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: far.url.replace(/\/postgres$/, `/${database}`) });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const createTenant = (slug: string, plan: string, serverName?: string) =>
  api('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan, ...(serverName && { server: serverName }), owner: { email: `owner@${slug}.example`, name: 'Owner' } },
  });
/** far-co's owner, logged in through POST /auth/login by the first test. */
let farOwnerToken = '';
const placementOf = async (id: string) => (await api('GET', `/admin/tenants/${id}`, { token: admin })).body.placement.server as string;

t.test('npm run server -- add prepares a bare server; a dedicated tenant created there is used over HTTP', async (t) => {
  const added = await server(...addFar);
  t.equal(added.code, 0, added.stderr);
  const row = JSON.parse(added.stdout);
  t.match(row, {
    name: 'far',
    host: '127.0.0.1',
    port: far.port,
    acceptsNewTenants: true,
    ownerSecretRef: 'env:STRATA_OWNER_PASSWORD',
    tenantsDatabase: `${prefix}_tenants`,
  });
  t.notOk(added.stdout.includes(process.env.FAR_SUPERUSER_PASSWORD!), 'no secret is printed');
  t.same(
    (await onFar<{ rolname: string }>('postgres', `SELECT rolname FROM pg_roles WHERE rolname IN ('strata_owner', 'strata_app') ORDER BY 1`)).map(
      (r) => r.rolname,
    ),
    ['strata_app', 'strata_owner'],
    'its roles are bootstrapped',
  );
  t.ok((await onFar(`${prefix}_tenants`, 'SELECT name FROM public._strata_migrations')).length > 0, 'its pooled tables are migrated');
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'server.add', adminId: null } }), 1, 'audited as an operator action');

  const created = await createTenant('far-co', 'enterprise', 'far');
  t.equal(created.status, 201, JSON.stringify(created.body));
  t.equal(created.body.tenant.tier, 'dedicated');
  const session = await api('POST', '/auth/login', { body: { email: 'owner@far-co.example', password: created.body.owner.password } });
  t.equal(session.status, 200);
  t.equal(decodeClaims(session.body.accessToken).tid, created.body.tenant.id, 'the token names the new tenant');
  farOwnerToken = session.body.accessToken;
  const lead = await api('POST', '/leads', { token: session.body.accessToken, body: { name: 'Far Lead' } });
  t.equal(lead.status, 201);
  const leads = await api('GET', '/leads', { token: session.body.accessToken });
  t.same(
    leads.body.items.map((l: { id: string }) => l.id),
    [lead.body.id],
  );
  t.same(await onFar(`${prefix}_t_far_co`, 'SELECT name FROM leads'), [{ name: 'Far Lead' }], 'the row lives on the new server');
});

t.test('list shows every server, its place, whether it takes tenants and how many it holds', async (t) => {
  const listed = await server('list');
  t.equal(listed.code, 0, listed.stderr);
  t.match(
    listed.stdout,
    new RegExp(`^far\\s+127\\.0\\.0\\.1:${far.port}/${prefix}_tenants\\s+ACTIVE\\s+weight 1 tenants 0 pooled, 0 schema, 1 dedicated$`, 'm'),
  );
  t.match(listed.stdout, /^default\s+/m);
  const { status, body } = await api('GET', '/admin/servers', { token: admin });
  t.equal(status, 200);
  t.match(
    body.items.find((s: { name: string }) => s.name === 'far'),
    { tenants: { pooled: 0, schema: 0, dedicated: 1 }, acceptsNewTenants: true },
  );
  for (const secret of [process.env.FAR_SUPERUSER_PASSWORD!, testSecrets.STRATA_OWNER_PASSWORD, testSecrets.STRATA_RUNTIME_PASSWORD]) {
    t.notOk(JSON.stringify(body).includes(secret), 'references only, no secret');
  }
});

t.test('cordoned servers take no new tenants, keep serving theirs, and take them again once uncordoned', async (t) => {
  t.equal((await api('POST', '/admin/servers/default/cordon', { token: admin })).body.acceptsNewTenants, false);
  const placed = await createTenant('placed-far', 'business');
  t.equal(placed.status, 201);
  t.equal(await placementOf(placed.body.tenant.id), 'far', 'with the default server cordoned, the new tenant goes to far');

  const cordoned = await server('cordon', 'far');
  t.equal(cordoned.code, 0, cordoned.stderr);
  t.equal(JSON.parse(cordoned.stdout).acceptsNewTenants, false);
  const before = await platform.catalog.tenant.count();
  const named = await createTenant('refused-named', 'free', 'far');
  t.equal(named.status, 409);
  t.equal(named.body.code, 'STRATA_SERVER_CORDONED');
  const unnamed = await createTenant('refused-any', 'free');
  t.equal(unnamed.status, 409);
  t.equal(unnamed.body.code, 'STRATA_SERVER_NONE_AVAILABLE');
  t.equal(await platform.catalog.tenant.count(), before, 'nothing recorded');

  t.equal((await api('GET', '/leads', { token: farOwnerToken })).status, 200, 'its tenants are still served');

  t.equal((await server('uncordon', 'far')).code, 0);
  const again = await createTenant('placed-again', 'free');
  t.equal(again.status, 201);
  t.equal(await placementOf(again.body.tenant.id), 'far');
  t.equal((await api('POST', '/admin/servers/default/uncordon', { token: admin })).body.acceptsNewTenants, true);
  const home = await createTenant('placed-home', 'free');
  t.equal(await placementOf(home.body.tenant.id), 'default', 'the server with fewer pooled tenants (far holds one)');
  t.same(
    (await platform.catalog.adminAuditEvent.findMany({ where: { action: { in: ['server.cordon', 'server.uncordon'] } }, orderBy: { at: 'asc' } })).map((e) => [
      e.action,
      (e.details as { name: string }).name,
    ]),
    [
      ['server.cordon', 'default'],
      ['server.cordon', 'far'],
      ['server.uncordon', 'far'],
      ['server.uncordon', 'default'],
    ],
  );
});

t.test('bad settings are a 4xx naming the field, and record nothing', async (t) => {
  const servers = await platform.catalog.databaseServer.count();
  const audits = await platform.catalog.adminAuditEvent.count({ where: { action: 'server.add' } });
  const add = (body: Record<string, unknown>) => api('POST', '/admin/servers', { token: admin, body });
  const fields = (res: { body: { errors?: { field: string }[] } }) => (res.body.errors ?? []).map((e) => e.field).sort();
  const valid = {
    name: 'other',
    host: '127.0.0.1',
    port: far.port,
    tenantsDatabase: `${prefix}_other`,
    bootstrap: { secretRef: 'env:FAR_SUPERUSER_PASSWORD' },
  };

  const malformed = await add({ name: 'Bad Name', host: 'not a host', port: 'abc', bootstrap: { secretRef: 'hunter2' } });
  t.equal(malformed.status, 400);
  t.same(fields(malformed), ['body.bootstrap.secretRef', 'body.host', 'body.name', 'body.port']);
  const unresolved = await add({ ...valid, runtimeSecretRef: 'env:STRATA_NOT_SET_ANYWHERE' });
  t.equal(unresolved.status, 400);
  t.same(fields(unresolved), ['body.runtimeSecretRef']);

  const closed = await freePort();
  const unreachable = await add({ ...valid, port: closed });
  t.equal(unreachable.status, 422);
  t.equal(unreachable.body.code, 'STRATA_SERVER_UNREACHABLE');
  t.same(fields(unreachable), ['body.host', 'body.port']);
  t.match(unreachable.body.detail, /ECONNREFUSED/);
  process.env.FAR_WRONG_PASSWORD = 'not-the-password';
  const wrongPassword = await add({ ...valid, bootstrap: { secretRef: 'env:FAR_WRONG_PASSWORD' } });
  t.equal(wrongPassword.status, 422);
  t.same(fields(wrongPassword), ['body.bootstrap.secretRef']);
  const duplicate = await add({ ...valid, name: 'far' });
  t.equal(duplicate.status, 409);
  t.equal(duplicate.body.code, 'STRATA_SERVER_EXISTS');
  const samePlace = await add({ ...valid, tenantsDatabase: `${prefix}_tenants` });
  t.equal(samePlace.status, 409);
  t.match(samePlace.body.detail, /already registered as far/);

  const cliUnreachable = await server('add', 'other', '--host', '127.0.0.1', '--port', String(closed), '--bootstrap-secret', 'env:FAR_SUPERUSER_PASSWORD');
  t.equal(cliUnreachable.code, 1);
  t.match(cliUnreachable.stderr, /refused, nothing recorded: .*ECONNREFUSED/);
  t.match(cliUnreachable.stderr, /--port: /);
  const cliMalformed = await server('add', 'other', '--host', '127.0.0.1', '--port', 'abc', '--bootstrap-secret', 'env:FAR_SUPERUSER_PASSWORD');
  t.equal(cliMalformed.code, 64);
  t.match(cliMalformed.stderr, /--port: /);
  t.equal((await server('cordon', 'nowhere')).code, 1, 'an unknown server');
  t.equal((await api('POST', '/admin/servers/nowhere/cordon', { token: admin })).status, 404);

  t.equal(await platform.catalog.databaseServer.count(), servers, 'no server recorded');
  t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'server.add' } }), audits, 'no audit entry');
  t.equal((await onFar('postgres', `SELECT 1 FROM pg_database WHERE datname = '${prefix}_other'`)).length, 0, 'nothing created there');

  t.equal((await api('GET', '/admin/servers')).status, 401, 'admins only');
  t.equal((await api('GET', '/admin/servers', { token: farOwnerToken })).status, 401, 'a tenant token opens no admin route');
});

t.test('simultaneous registrations of one server record it once', async (t) => {
  for (const round of [1, 2, 3]) {
    const body = {
      name: `twin-${round}`,
      host: '127.0.0.1',
      port: far.port,
      tenantsDatabase: `${prefix}_twin${round}`,
      bootstrap: { secretRef: 'env:FAR_SUPERUSER_PASSWORD' },
    };
    const answers = await Promise.all(Array.from({ length: 4 }, () => api('POST', '/admin/servers', { token: admin, body })));
    t.same(answers.map((a) => a.status).sort(), [201, 409, 409, 409], `round ${round}: one registered, the others refused`);
    t.equal(await platform.catalog.adminAuditEvent.count({ where: { action: 'server.add', details: { path: ['name'], equals: body.name } } }), 1);
  }
});
