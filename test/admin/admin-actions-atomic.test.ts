/**
 * Regressions: admin actions that answered 500 still took effect, unaudited. A suspension whose
 * reason was refused was applied anyway; a tenant whose owner was refused was left active with no
 * users and its slug stuck (a corrected retry got 409). Now each action is all or nothing with its
 * audit record. Failures after validation are injected with catalog triggers: the audit insert,
 * or the owner's login route, fails.
 */
import pg from 'pg';
import t from 'tap';
import { startTestPlatform, testApp, tiers, type Tier } from '../helper.js';
import { adminLogin, frontDoor } from '../support/front-door.js';
import { superuserClient } from '../support/superuser.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const call = await frontDoor(await testApp(t, platform));
const admin = await adminLogin(call);
const { prefix } = platform.config.database;

const catalogDb = await superuserClient(t, `${prefix}_catalog`);
const tenantsDb = await superuserClient(t, `${prefix}_tenants`);

// Faults: an audit record mentioning "audit-down", or of a tenant listed in audit_down; a login route for "route-down@…".
await catalogDb.query(`
  CREATE TABLE audit_down (tenant_id uuid PRIMARY KEY);
  GRANT SELECT ON audit_down TO PUBLIC;
  CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.details::text LIKE '%audit-down%' OR NEW.tenant_id IN (SELECT tenant_id FROM audit_down) THEN RAISE EXCEPTION 'injected: audit trail unavailable'; END IF;
    RETURN NEW; END $$;
  CREATE TRIGGER fail_audit BEFORE INSERT ON admin_audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit();
  CREATE FUNCTION fail_route() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.email LIKE 'route-down@%' THEN RAISE EXCEPTION 'injected: login index unavailable'; END IF;
    RETURN NEW; END $$;
  CREATE TRIGGER fail_route BEFORE INSERT ON login_routes FOR EACH ROW EXECUTE FUNCTION fail_route();
`);

const create = (slug: string, tier: Tier, owner: { email: string; name: string }) =>
  call('POST', '/admin/tenants', { token: admin, body: { slug, name: `Tenant ${slug}`, plan: 'starter', tier, owner } });

/** Everything a creation could have left behind for `slug` (and its owner's email). */
async function leftovers(slug: string, email: string) {
  const ident = slug.replaceAll('-', '_');
  const one = async (db: pg.Client, sql: string, params: unknown[]) => (await db.query(sql, params)).rows[0].n as number;
  return {
    tenants: await platform.catalog.tenant.count({ where: { slug } }),
    loginRoutes: await platform.catalog.loginRoute.count({ where: { email } }),
    audit: await platform.catalog.adminAuditEvent.count({ where: { details: { path: ['slug'], equals: slug } } }),
    schemas: await one(tenantsDb, `SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1`, [`t_${ident}`]),
    databases: await one(tenantsDb, `SELECT count(*)::int AS n FROM pg_database WHERE datname = $1`, [`${prefix}_t_${ident}`]),
    pooledUsers: await one(tenantsDb, `SELECT count(*)::int AS n FROM public.users WHERE email = $1`, [email]),
  };
}
const nothing = { tenants: 0, loginRoutes: 0, audit: 0, schemas: 0, databases: 0, pooledUsers: 0 };

for (const tier of tiers) {
  t.test(`${tier}: an owner refused by validation creates nothing, and a corrected retry succeeds`, async (t) => {
    const slug = `bad-owner-${tier}`;
    const refused = await create(slug, tier, { email: `o@${slug}.example`, name: 'Ada \ud800' });
    t.equal(refused.status, 400);
    t.same(
      refused.json.errors.map((e: { field: string }) => e.field),
      ['body.owner.name'],
    );
    t.same(await leftovers(slug, `o@${slug}.example`), nothing);
    t.equal((await create(slug, tier, { email: `o@${slug}.example`, name: 'Ada' })).status, 201, 'the slug is free');
  });

  t.test(`${tier}: a creation whose audit record fails leaves nothing, and frees its slug`, async (t) => {
    const slug = `audit-down-${tier}`;
    const failed = await create(slug, tier, { email: `o@${slug}.example`, name: 'Ada' });
    t.equal(failed.status, 500);
    t.same(await leftovers(slug, `o@${slug}.example`), nothing);
    await catalogDb.query(`ALTER TABLE admin_audit_events DISABLE TRIGGER fail_audit`);
    const retried = await create(slug, tier, { email: `o@${slug}.example`, name: 'Ada' });
    await catalogDb.query(`ALTER TABLE admin_audit_events ENABLE TRIGGER fail_audit`);
    t.equal(retried.status, 201, 'a retry once the trail is back succeeds');
    const login = await call('POST', '/auth/login', { body: { email: `o@${slug}.example`, password: retried.json.owner.password } });
    t.equal(login.status, 200, 'and its owner logs in');
  });

  t.test(`${tier}: a creation whose owner cannot be indexed for login leaves nothing`, async (t) => {
    const slug = `route-down-${tier}`;
    const failed = await create(slug, tier, { email: `route-down@${slug}.example`, name: 'Ada' });
    t.equal(failed.status, 500);
    t.same(await leftovers(slug, `route-down@${slug}.example`), nothing, 'not even the owner row in the tier');
    t.equal((await create(slug, tier, { email: `ada@${slug}.example`, name: 'Ada' })).status, 201, 'the slug is free');
  });
}

t.test('status changes and updates whose audit record fails are not applied', async (t) => {
  const made = await create('steady', 'pooled', { email: 'o@steady.example', name: 'Ada' });
  const id = made.json.tenant.id as string;
  const token = (await call('POST', '/auth/login', { body: { email: 'o@steady.example', password: made.json.owner.password } })).json.accessToken;
  const row = () => platform.catalog.tenant.findUniqueOrThrow({ where: { id } });
  const before = await row();
  const trail = () => platform.catalog.adminAuditEvent.count({ where: { tenantId: id } });
  const audited = await trail();

  const refused = await call('POST', `/admin/tenants/${id}/suspend`, { token: admin, body: { reason: 'unpaid \ud800' } });
  t.equal(refused.status, 400, 'a reason that cannot be stored is refused');
  t.same(
    refused.json.errors.map((e: { field: string }) => e.field),
    ['body.reason'],
  );

  t.equal((await call('POST', `/admin/tenants/${id}/suspend`, { token: admin, body: { reason: 'audit-down' } })).status, 500);
  t.equal((await call('PATCH', `/admin/tenants/${id}`, { token: admin, body: { name: 'audit-down' } })).status, 500);
  await catalogDb.query(`INSERT INTO audit_down VALUES ($1)`, [id]);
  t.equal((await call('DELETE', `/admin/tenants/${id}`, { token: admin })).status, 500);
  t.equal((await call('PATCH', `/admin/tenants/${id}`, { token: admin, body: { config: { branding: { displayName: 'X' } } } })).status, 500);

  t.match(await row(), { status: 'active', name: before.name, version: before.version, config: before.config }, 'nothing changed');
  t.equal(await trail(), audited, 'and nothing was recorded');
  t.equal((await call('GET', '/leads', { token })).status, 200, 'the tenant is still served');

  await catalogDb.query(`DELETE FROM audit_down`);
  t.equal((await call('POST', `/admin/tenants/${id}/suspend`, { token: admin, body: { reason: 'unpaid' } })).status, 200);
  await catalogDb.query(`INSERT INTO audit_down VALUES ($1)`, [id]);
  t.equal((await call('POST', `/admin/tenants/${id}/reactivate`, { token: admin })).status, 500);
  t.equal((await row()).status, 'suspended', 'a reactivation that could not be recorded did not happen');
  t.equal((await call('GET', '/leads', { token })).status, 423);
});

t.test('reserved host names are refused as slugs, naming the field', async (t) => {
  for (const slug of ['www', 'api', 'admin', 'app', 'static', 'status']) {
    const res = await create(slug, 'pooled', { email: `o@${slug}.example`, name: 'Ada' });
    t.equal(res.status, 400, slug);
    t.same(
      res.json.errors.map((e: { field: string }) => e.field),
      ['body.slug'],
      slug,
    );
  }
  t.equal(await platform.catalog.tenant.count({ where: { slug: { in: ['www', 'api', 'admin'] } } }), 0);
});
