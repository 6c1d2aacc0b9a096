import t from 'tap';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { provisionTenant } from '../../src/tenants/provision-tenant.js';
import { resourceClient } from '../crm/resource-client.js';
import { startTestPlatform, testApp, tokenFor } from '../helper.js';
import { startExtraServer } from '../support/extra-server.js';

const platform = await startTestPlatform(t);
const extra = await startExtraServer(t, platform, 'second');
const app = await testApp(t, platform);

t.test('a dedicated tenant provisioned on a second server is served from there', async (t) => {
  const tenant = await provisionTenant(platform.provisioning, { slug: 'far-away', name: 'Far away', plan: 'free', tier: 'dedicated', server: 'second' });
  t.equal(tenant.serverId, extra.server.id, 'placed on the second server');

  const leads = resourceClient<{ id: string; name: string }>(app, tokenFor(platform, tenant), '/leads');
  const lead = await leads.created({ name: 'Remote Lead' });
  t.same(await leads.ids(), [lead.id], 'the API lists the lead it created');

  // The rows are on the second server, and the default server has no such database.
  const there = await withOwnerConnection(
    extra.server,
    tenant.databaseName,
    async (db) => (await db.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname = 'leads'`)).rows[0].n,
  );
  t.equal(there, 1, 'its tables live on the second server');
  const onDefault = await withOwnerConnection(
    platform.defaultServer,
    platform.defaultServer.tenantsDatabase,
    async (db) => (await db.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [tenant.databaseName])).rows[0].n,
  );
  t.equal(onDefault, 0, 'the default server holds no database of it');
});
