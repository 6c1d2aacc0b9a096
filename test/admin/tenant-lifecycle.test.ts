import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { adminToken, bearer, provision, startTestPlatform, testApp, tiers, type Tier } from '../helper.js';

const exportDir = await mkdtemp(join(tmpdir(), 'strata-purge-'));
// No spare schemas: nothing here measures provisioning speed, and building them only adds load.
const platform = await startTestPlatform(t, { STRATA_PURGE_EXPORT_DIR: exportDir, STRATA_SPARE_SCHEMAS: '0' });
const app = await testApp(t, platform);
const admin = bearer(await adminToken(platform));
const server = platform.defaultServer;
const currentMigrations = platform.provisioning.tenantMigrations.map((m) => m.name);

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers = admin) => app.inject({ method, url, payload, headers });
const catalogRow = (id: string) => platform.catalog.tenant.findUniqueOrThrow({ where: { id } });

const ownerQuery = (database: string, sql: string, params: unknown[] = []) =>
  withOwnerConnection(server, database, async (db) => (await db.query(sql, params)).rows);

async function storageExists(tenant: Tenant) {
  if (tenant.tier === 'dedicated')
    return (await ownerQuery(server.tenantsDatabase, 'SELECT 1 FROM pg_database WHERE datname = $1', [tenant.databaseName])).length === 1;
  if (tenant.tier === 'schema')
    return (await ownerQuery(tenant.databaseName, 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [tenant.schemaName])).length === 1;
  return true;
}

/**
 * The tenant's rows in every pooled table, read as the owner bound to the tenant and with an
 * explicit filter (the owner bypasses row security, on a server bootstrapped before that it does not).
 */
async function pooledRows(tenantId: string) {
  return withOwnerConnection(server, server.tenantsDatabase, async (db) => {
    const tables = await db.query(
      `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname NOT LIKE '\\_strata%'`,
    );
    t.ok(tables.rows.length >= 5, 'the pooled tables are there to look in');
    await db.query('BEGIN');
    await db.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    let rows = 0;
    for (const { relname } of tables.rows) {
      rows += (await db.query(`SELECT count(*)::int AS n FROM public.${escapeIdentifier(relname)} WHERE tenant_id = $1`, [tenantId])).rows[0].n;
    }
    await db.query('COMMIT');
    return rows;
  });
}

async function createVia(slug: string, plan: string, tier?: Tier) {
  const res = await call('POST', '/admin/tenants', { slug, name: `Tenant ${slug}`, plan, tier, owner: { email: `owner@${slug}.example`, name: 'Owner' } });
  if (res.statusCode !== 201) throw new Error(`creating ${slug}: ${res.body}`);
  return res.json() as { tenant: { id: string; slug: string; tier: Tier; status: string }; owner: { id: string; email: string; password: string } };
}

const login = (email: string, password: string) => app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });

t.test('admin tenant routes refuse callers without an admin token', async (t) => {
  for (const [method, url] of [
    ['GET', '/admin/tenants'],
    ['POST', '/admin/tenants'],
    ['GET', '/admin/plans'],
  ] as const) {
    const res = await call(method, url, undefined, {} as typeof admin);
    t.equal(res.statusCode, 401, `${method} ${url}`);
  }
});

t.test('a malformed tenant id is a 400, an unknown one a 404, on every tenant route', async (t) => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  const routes: ['GET' | 'POST' | 'PATCH' | 'DELETE', string, object?][] = [
    ['GET', ''],
    ['PATCH', '', { name: 'x' }],
    ['POST', '/suspend', { reason: 'x' }],
    ['POST', '/reactivate'],
    ['DELETE', ''],
    ['POST', '/purge'],
    ['GET', '/audit'],
  ];
  for (const [method, suffix, body] of routes) {
    const bad = await call(method, `/admin/tenants/not-a-uuid${suffix}`, body);
    t.equal(bad.statusCode, 400, `${method} …${suffix}: malformed`);
    const missing = await call(method, `/admin/tenants/${unknown}${suffix}`, body);
    t.equal(missing.statusCode, 404, `${method} …${suffix}: unknown`);
    t.equal(missing.json().code, 'STRATA_RESOURCE_NOT_FOUND');
  }
});

t.test('GET /admin/plans lists each plan with its default tier, limits and features', async (t) => {
  const res = await call('GET', '/admin/plans');
  t.equal(res.statusCode, 200);
  const byName = Object.fromEntries(res.json().items.map((p: { name: string }) => [p.name, p]));
  t.match(byName, { free: { defaultTier: 'pooled' }, business: { defaultTier: 'schema' }, enterprise: { defaultTier: 'dedicated', limits: { users: null } } });
  t.equal(byName.free.limits.requestsPerMinute, 1_000_000, 'the enforced limit, STRATA_RATE_LIMIT_PLANS applied');
});

const planFor: Record<Tier, string> = { pooled: 'starter', schema: 'business', dedicated: 'enterprise' };

for (const tier of tiers) {
  t.test(`${tier}: created on its plan's tier, migrated, and its owner can log in and work`, async (t) => {
    const { tenant, owner } = await createVia(`made-${tier}`, planFor[tier]);
    t.equal(tenant.tier, tier, `${planFor[tier]} defaults to ${tier}`);
    t.equal(tenant.status, 'active');
    const row = await catalogRow(tenant.id);
    t.ok(await storageExists(row), 'its schema or database exists');
    const history = await ownerQuery(row.databaseName, `SELECT name FROM ${escapeIdentifier(row.schemaName)}._strata_migrations ORDER BY name`);
    t.same(
      history.map((h) => h.name),
      currentMigrations,
      'at the current migration version',
    );

    const loggedIn = await login(owner.email, owner.password);
    t.equal(loggedIn.statusCode, 200, 'the owner logs in with the password shown once');
    const token = bearer(loggedIn.json().accessToken);
    t.equal((await app.inject({ method: 'POST', url: '/leads', headers: token, payload: { name: 'First lead' } })).statusCode, 201);
    t.equal((await app.inject({ method: 'GET', url: '/me', headers: token })).json().role, 'owner');

    const shown = await call('GET', `/admin/tenants/${tenant.id}`);
    t.equal(shown.statusCode, 200, shown.body);
    t.match(shown.json(), {
      tier,
      status: 'active',
      placement: { server: 'default', schema: row.schemaName, database: row.databaseName },
      settings: { plan: planFor[tier] },
      // The owner's creation, its login and the lead.
      usage: { rows: { users: 1, leads: 1, deals: 0, audit_events: 3 } },
    });
    t.ok(shown.json().usage.requests.today >= 2, 'requests served to the tenant are counted');
    if (tier === 'pooled') t.equal(shown.json().usage.storageBytes, null);
    else t.ok(shown.json().usage.storageBytes > 0);
  });
}

t.test('a tier given explicitly wins over the plan default; a duplicate slug is 409', async (t) => {
  const { tenant } = await createVia('explicit-tier', 'free', 'schema');
  t.equal(tenant.tier, 'schema');
  const again = await call('POST', '/admin/tenants', { slug: 'explicit-tier', name: 'x', plan: 'free', owner: { email: 'a@b.example', name: 'a' } });
  t.equal(again.statusCode, 409);
  t.equal(again.json().code, 'STRATA_TENANT_EXISTS');
});

t.test('bad create and patch bodies are 400 problems with field-level errors', async (t) => {
  const cases: [string, object, string[]][] = [
    ['bad slug and plan', { slug: 'No Spaces', name: 'x', plan: 'platinum', owner: { email: 'a@b.example', name: 'a' } }, ['body.slug', 'body.plan']],
    ['missing owner', { slug: 'no-owner', name: 'x', plan: 'free' }, ['body.owner']],
    ['unknown server', { slug: 'no-server', name: 'x', plan: 'free', server: 'atlantis', owner: { email: 'a@b.example', name: 'a' } }, ['body.server']],
    [
      'bad config',
      {
        slug: 'bad-config',
        name: 'x',
        plan: 'free',
        owner: { email: 'a@b.example', name: 'a' },
        config: {
          branding: { primaryColor: 'red', logoUrl: 'http://insecure.example/logo.png', customDomain: 'Not A Domain' },
          features: { teleport: true },
          limits: { users: -1 },
        },
      },
      [
        'body.config.branding.primaryColor',
        'body.config.branding.logoUrl',
        'body.config.branding.customDomain',
        'body.config.features',
        'body.config.limits.users',
      ],
    ],
  ];
  for (const [name, body, fields] of cases) {
    const res = await call('POST', '/admin/tenants', body);
    t.equal(res.statusCode, 400, name);
    t.equal(res.json().code, 'STRATA_REQUEST_INVALID', name);
    t.same(
      res
        .json()
        .errors.map((e: { field: string }) => e.field)
        .sort(),
      fields.sort(),
      `${name}: ${res.body}`,
    );
  }
  t.equal(await platform.catalog.tenant.count({ where: { slug: { in: ['no-owner', 'no-server', 'bad-config'] } } }), 0, 'nothing was created');

  const tenant = await provision(platform, 'pooled', 'patchy');
  const empty = await call('PATCH', `/admin/tenants/${tenant.id}`, {});
  t.equal(empty.statusCode, 400, 'an empty patch');
  const bad = await call('PATCH', `/admin/tenants/${tenant.id}`, { config: { branding: { accentColor: '#12345' } } });
  t.equal(bad.statusCode, 400);
  t.same(
    bad.json().errors.map((e: { field: string }) => e.field),
    ['body.config.branding.accentColor'],
  );
});

t.test('list: filters by status, tier, plan and search, with keyset pages', async (t) => {
  for (const n of [1, 2, 3]) await provision(platform, 'pooled', `listed-${n}`, 'starter');
  const first = await call('GET', '/admin/tenants?search=LISTED&limit=2');
  t.equal(first.statusCode, 200);
  t.equal(first.json().items.length, 2);
  const second = await call('GET', `/admin/tenants?search=listed&limit=2&cursor=${first.json().nextCursor}`);
  t.equal(second.json().items.length, 1);
  t.equal(second.json().nextCursor, null);
  const slugs = [...first.json().items, ...second.json().items].map((i: { slug: string }) => i.slug).sort();
  t.same(slugs, ['listed-1-pooled', 'listed-2-pooled', 'listed-3-pooled']);
  const filtered = await call('GET', '/admin/tenants?plan=starter&tier=pooled&status=active&limit=100');
  t.ok(filtered.json().items.every((i: { plan: string; tier: string }) => i.plan === 'starter' && i.tier === 'pooled'));
  t.equal((await call('GET', '/admin/tenants?status=sleeping')).statusCode, 400);
  t.equal((await call('GET', '/admin/tenants?cursor=garbage')).statusCode, 400);
});

t.test('patch: name, plan and config change the tenant, bump its version, and are audited', async (t) => {
  const tenant = await provision(platform, 'schema', 'renamed');
  const res = await call('PATCH', `/admin/tenants/${tenant.id}`, {
    name: 'New Name',
    plan: 'business',
    config: { branding: { displayName: 'Acme CRM', primaryColor: '#112233' }, features: { deals: false }, limits: { users: 3 } },
  });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { name: 'New Name', plan: 'business', tier: 'schema', version: tenant.version + 1 });
  const shown = (await call('GET', `/admin/tenants/${tenant.id}`)).json();
  t.match(shown.settings, {
    plan: 'business',
    features: { deals: false, auditLog: true },
    limits: { users: 3, leads: 500_000 },
    branding: { displayName: 'Acme CRM' },
  });
  const trail = (await call('GET', `/admin/audit?tenantId=${tenant.id}&action=tenant.update`)).json().items;
  t.equal(trail.length, 1);
  t.match(trail[0].details, { name: { from: 'renamed on schema', to: 'New Name' }, plan: { from: 'free', to: 'business' } });
});

for (const tier of tiers) {
  t.test(`${tier}: suspend → 423, reactivate → served; bad transitions are 409`, async (t) => {
    const { tenant, owner } = await createVia(`pause-${tier}`, 'starter', tier);
    const token = bearer((await login(owner.email, owner.password)).json().accessToken);
    const leads = () => app.inject({ method: 'GET', url: '/leads', headers: token });
    t.equal((await leads()).statusCode, 200);

    const noReason = await call('POST', `/admin/tenants/${tenant.id}/suspend`, {});
    t.equal(noReason.statusCode, 400, 'a reason is required');
    t.same(
      noReason.json().errors.map((e: { field: string }) => e.field),
      ['body.reason'],
    );
    t.equal((await call('POST', `/admin/tenants/${tenant.id}/suspend`, { reason: '   ' })).statusCode, 400, 'a blank reason is no reason');

    const suspended = await call('POST', `/admin/tenants/${tenant.id}/suspend`, { reason: 'invoice overdue' });
    t.equal(suspended.statusCode, 200);
    t.equal(suspended.json().status, 'suspended');
    const refused = await leads();
    t.equal(refused.statusCode, 423);
    t.equal(refused.json().code, 'STRATA_TENANT_SUSPENDED');
    t.equal((await login(owner.email, owner.password)).statusCode, 423, 'logging in is refused too');
    t.match((await call('GET', `/admin/tenants/${tenant.id}`)).json().suspension, { reason: 'invoice overdue' });

    const twice = await call('POST', `/admin/tenants/${tenant.id}/suspend`, { reason: 'again' });
    t.equal(twice.statusCode, 409);
    t.match(twice.json(), { code: 'STRATA_TENANT_STATE', tenantStatus: 'suspended' });

    t.equal((await call('POST', `/admin/tenants/${tenant.id}/reactivate`)).statusCode, 200);
    t.equal((await leads()).statusCode, 200, 'served again');
    t.equal((await call('POST', `/admin/tenants/${tenant.id}/reactivate`)).statusCode, 409, 'an active tenant cannot be reactivated');
    t.equal((await call('POST', `/admin/tenants/${tenant.id}/purge`)).statusCode, 409, 'purge needs a deleted tenant');

    const actions = (await call('GET', `/admin/audit?tenantId=${tenant.id}&limit=100`)).json().items.map((e: { action: string }) => e.action);
    t.same(actions, ['tenant.reactivate', 'tenant.suspend', 'tenant.create'], 'every change is in the trail, newest first');
  });
}

for (const tier of tiers) {
  t.test(`${tier}: delete + purge leaves nothing of the tenant; its neighbour is untouched`, async (t) => {
    const { tenant, owner } = await createVia(`doomed-${tier}`, 'starter', tier);
    const neighbour = await createVia(`stays-${tier}`, 'starter', tier);
    for (const made of [{ owner }, neighbour]) {
      const token = bearer((await login(made.owner.email, made.owner.password)).json().accessToken);
      t.equal((await app.inject({ method: 'POST', url: '/leads', headers: token, payload: { name: 'data' } })).statusCode, 201);
    }
    const row = await catalogRow(tenant.id);

    const deleted = await call('DELETE', `/admin/tenants/${tenant.id}`);
    t.equal(deleted.statusCode, 200);
    t.equal(deleted.json().status, 'deleted');
    t.equal((await login(owner.email, owner.password)).statusCode, 401, 'a deleted tenant’s users cannot log in');
    t.ok(await storageExists(row), 'soft delete keeps the data');
    if (tier === 'pooled') t.ok((await pooledRows(tenant.id)) >= 2, 'its pooled rows are there before the purge');

    const purged = await call('POST', `/admin/tenants/${tenant.id}/purge`);
    t.equal(purged.statusCode, 200, purged.body);
    const { archive, rows } = purged.json();
    t.notOk(archive.includes('/'), 'the archive is named by its file name in the configured directory');
    t.equal(rows, 5, 'the export holds the owner, the lead and three audit events: creation, login, lead (no refresh token)');
    const [magic, manifest] = (await readFile(join(exportDir, archive), 'utf8')).split('\n');
    t.equal(magic, 'STRATA-TENANT-ARCHIVE 1');
    t.match(JSON.parse(manifest!), { tenant: { id: tenant.id } });
    if (tier === 'pooled') t.equal(await pooledRows(tenant.id), 0, 'no pooled rows left');
    else t.notOk(await storageExists(row), 'no schema or database left');
    t.equal(await platform.catalog.tenant.count({ where: { id: tenant.id } }), 0, 'no catalog row');
    t.equal(await platform.catalog.loginRoute.count({ where: { tenantId: tenant.id } }), 0, 'no login routes');
    t.equal(await platform.catalog.tenantUsage.count({ where: { tenantId: tenant.id } }), 0, 'no usage rows');
    t.equal((await call('GET', `/admin/tenants/${tenant.id}`)).statusCode, 404);
    t.match((await call('POST', `/admin/tenants/${tenant.id}/purge`)).json(), { status: 409, tenantStatus: 'purged' }, 'purging twice is refused');
    const trail = (await call('GET', `/admin/audit?tenantId=${tenant.id}&action=tenant.purge`)).json().items;
    t.equal(trail.length, 1, 'the trail outlives the tenant');

    const stays = await catalogRow(neighbour.tenant.id);
    t.ok(await storageExists(stays));
    const shown = (await call('GET', `/admin/tenants/${stays.id}`)).json();
    t.match(shown.usage.rows, { users: 1, leads: 1 }, 'the neighbour keeps its rows');
    t.equal((await login(neighbour.owner.email, neighbour.owner.password)).statusCode, 200, 'and its users log in');
  });
}
