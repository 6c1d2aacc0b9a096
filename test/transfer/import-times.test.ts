/**
 * Regression: an archive holding timestamps PostgreSQL accepts but the API cannot render
 * (`infinity`, year 294276) was imported, and every list page of the tenant then answered 500.
 * Now the import is refused naming the table, column and row, and writes nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier } from 'pg';
import t from 'tap';
import type { Tenant } from '../../src/catalog/catalog-client.js';
import { withOwnerConnection } from '../../src/servers/server-access.js';
import { archiveMediaType } from '../../src/transfer/archive-format.js';
import { inTenantTransaction } from '../../src/transfer/tenant-transaction.js';
import { adminUrl, provision, startTestPlatform, tiers } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';
import { runScript } from '../support/run-script.js';
import { tenantChecksums } from '../support/tenant-rows.js';

const platform = await startTestPlatform(t, { STRATA_SPARE_SCHEMAS: '0' });
const live = await liveAdmin(t, platform);
const { api } = live;
const admin = await live.adminLogin();
const dir = await mkdtemp(join(tmpdir(), 'strata-import-times-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

/** A tenant made through the API with a user, a lead, a deal and an activity; returns its owner's token. */
async function populated(slug: string) {
  const created = await api('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan: 'business', tier: 'pooled', owner: { email: `o@${slug}.example`, name: 'O' } },
  });
  const { tenant, owner } = created.body as { tenant: { id: string }; owner: { email: string; password: string } };
  const token = (await api('POST', '/auth/login', { body: { email: owner.email, password: owner.password } })).body.accessToken as string;
  const lead = (await api('POST', '/leads', { token, body: { name: 'Lead' } })).body as { id: string };
  const deal = (await api('POST', '/deals', { token, body: { title: 'Deal', amount: '10.00', currency: 'EUR', leadId: lead.id } })).body as { id: string };
  const activity = await api('POST', '/activities', { token, body: { kind: 'note', body: 'hello', leadId: lead.id } });
  if (activity.status !== 201) throw new Error(`activity: ${JSON.stringify(activity.body)}`);
  const row = await platform.catalog.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
  return { tenant: row, token, lead, deal };
}

/** Stores a value the API never writes, as an archive from elsewhere (or an edited one) would carry it. */
async function setRaw(tenant: Tenant, table: string, column: string, value: string) {
  const server = await platform.servers.byId(tenant.serverId);
  await withOwnerConnection(server, tenant.databaseName, (client) =>
    inTenantTransaction(client, tenant.id, () =>
      client.query(`UPDATE ${escapeIdentifier(tenant.schemaName)}.${escapeIdentifier(table)} SET ${escapeIdentifier(column)} = $1`, [value]),
    ),
  );
}

async function exportOf(id: string) {
  const res = await live.raw('GET', `/admin/tenants/${id}/export`, { token: admin });
  t.equal(res.status, 200, 'PostgreSQL holds the value, so the export carries it');
  return Buffer.from(await res.arrayBuffer());
}

const cases = [
  { table: 'leads', column: 'created_at', value: 'infinity', list: '/leads' },
  { table: 'activities', column: 'occurred_at', value: '294276-12-31 23:59:59+00', list: '/activities' },
  { table: 'deals', column: 'close_date', value: '-infinity', list: '/deals' },
];

for (const c of cases) {
  t.test(`${c.table}.${c.column} = ${c.value}: the import is refused naming table, column and row, on every tier; nothing is written`, async (t) => {
    const source = await populated(`src-${c.table}`);
    await setRaw(source.tenant, c.table, c.column, c.value);
    const broken = await api('GET', c.list, { token: source.token });
    t.equal(broken.status, 500, `(how it was found: the source's own ${c.list} cannot render the value)`);
    const archive = await exportOf(source.tenant.id);
    const rowId = c.table === 'leads' ? source.lead.id : c.table === 'deals' ? source.deal.id : '';

    for (const tier of tiers) {
      const target = await provision(platform, tier, `times-${c.table}`);
      const res = await live.raw('POST', `/admin/tenants/${target.id}/import`, { token: admin, body: archive, type: archiveMediaType });
      t.equal(res.status, 422, `${tier}: refused`);
      const problem = (await res.json()) as { code: string; detail: string };
      t.equal(problem.code, 'STRATA_TRANSFER_ARCHIVE_INVALID');
      t.match(problem.detail, `${c.table}.${c.column} of the row with id ${rowId}`, `${tier}: names table, column and row`);
      t.ok(
        Object.values(await tenantChecksums(platform, target)).every((x) => x.rows === 0),
        `${tier}: nothing written`,
      );
      t.equal(await platform.catalog.loginRoute.count({ where: { tenantId: target.id } }), 0, `${tier}: no login routes either`);
    }
  });
}

t.test('the CLI refuses it too, naming table, column and row, and the tenant stays empty', async (t) => {
  const source = await populated('src-cli');
  await setRaw(source.tenant, 'leads', 'updated_at', 'infinity');
  const file = join(dir, 'infinite.strata');
  await writeFile(file, await exportOf(source.tenant.id));
  const target = await provision(platform, 'schema', 'times-cli');
  const res = await runScript('import', ['--tenant', target.slug, '--in', file], {
    DATABASE_URL: adminUrl(),
    STRATA_DB_PREFIX: platform.config.database.prefix,
    REDIS_URL: '',
  });
  t.equal(res.code, 1);
  t.match(res.stderr, `import refused, tenant ${target.slug} unchanged: leads.updated_at of the row with id ${source.lead.id} is infinity`);
  t.ok(Object.values(await tenantChecksums(platform, target)).every((x) => x.rows === 0));
});
