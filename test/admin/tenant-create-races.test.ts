/**
 * Regression: two simultaneous POST /admin/tenants with one slug both answered 201 with the same
 * tenant, and both owners became its owners (one customer saw the other's data). Now exactly one
 * wins; every other racer gets 409 and nothing of its own is created.
 */
import t from 'tap';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { startTestPlatform, testApp, tiers } from '../helper.js';
import { adminLogin, frontDoor } from '../support/front-door.js';

// Sixty tenants, twenty of them dedicated databases to create and drop: minutes on a busy machine.
t.setTimeout(600_000);
const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const call = await frontDoor(await testApp(t, platform));
const admin = await adminLogin(call);
const server = platform.defaultServer;
const rounds = 20;

for (const tier of tiers) {
  t.test(`${tier}: concurrent creations of one slug: one 201, the others 409 and nothing of theirs`, async (t) => {
    for (let round = 1; round <= rounds; round++) {
      const slug = `race-${tier}-${round}`;
      const racers = 2 + (round % 3);
      const owners = Array.from({ length: racers }, (_, i) => `owner-${i}@${slug}.example`);
      const answers = await Promise.all(
        owners.map((email) =>
          call('POST', '/admin/tenants', { token: admin, body: { slug, name: slug, plan: 'free', tier, owner: { email, name: 'Owner' } } }),
        ),
      );

      const won = answers.flatMap((a, i) => (a.status === 201 ? [i] : []));
      t.equal(won.length, 1, `round ${round}: exactly one of ${racers} wins (${answers.map((a) => a.status)})`);
      const lost = answers.filter((a) => a.status !== 201);
      t.ok(
        lost.every((a) => a.status === 409 && a.json.code === 'STRATA_TENANT_EXISTS' && a.contentType?.startsWith('application/problem+json')),
        `round ${round}: the others get 409`,
      );

      const winner = owners[won[0]!]!;
      const rows = await platform.catalog.tenant.findMany({ where: { slug } });
      t.equal(rows.length, 1, `round ${round}: one tenant`);
      const routes = await platform.catalog.loginRoute.findMany({ where: { tenantId: rows[0]!.id } });
      t.same(
        routes.map((r) => r.email),
        [winner],
        `round ${round}: only the winner's owner can be routed to it`,
      );
      const shown = await call('GET', `/admin/tenants/${rows[0]!.id}`, { token: admin });
      t.equal(shown.json.usage.rows.users, 1, `round ${round}: one user in the tenant`);
      for (const email of owners.filter((e) => e !== winner)) {
        t.equal(await platform.catalog.loginRoute.count({ where: { email } }), 0, `round ${round}: no login route for ${email}`);
      }
      if (round === 1) {
        const login = await call('POST', '/auth/login', { body: { email: winner, password: answers[won[0]!]!.json.owner.password } });
        t.equal(login.status, 200, 'the winner logs in to its tenant');
        t.equal((await call('GET', '/me', { token: login.json.accessToken })).json.tenant.id, rows[0]!.id);
      }
    }
  });
}

t.test('no schema or database was made beyond those of the tenants that exist', async (t) => {
  const tenants = await platform.catalog.tenant.findMany();
  const schemas = await withOwnerConnection(server, server.tenantsDatabase, async (db) =>
    (await db.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'`)).rows.map((r) => r.nspname as string),
  );
  t.same(
    schemas.sort(),
    tenants
      .filter((x) => x.tier === 'schema')
      .map((x) => x.schemaName)
      .sort(),
  );
  const databases = await withOwnerConnection(server, server.tenantsDatabase, async (db) =>
    (await db.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${platform.config.database.prefix}\\_t\\_%`])).rows.map(
      (r) => r.datname as string,
    ),
  );
  t.same(
    databases.sort(),
    tenants
      .filter((x) => x.tier === 'dedicated')
      .map((x) => x.databaseName)
      .sort(),
  );
});
