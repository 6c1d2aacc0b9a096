import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startTestPlatform, tiers } from '../helper.js';
import type { LiveApi } from '../support/live-api.js';
import { liveAdmin } from '../support/live-admin.js';

const root = await mkdtemp(join(tmpdir(), 'strata-purge-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const exportDir = join(root, 'exports');
// The most permissive umask: the archive's modes must not depend on it.
const umask = process.umask(0);
t.teardown(() => void process.umask(umask));

const platform = await startTestPlatform(t, { STRATA_PURGE_EXPORT_DIR: exportDir, STRATA_SPARE_SCHEMAS: '0' });
// Two API instances: the purges race across instances, as behind a load balancer.
const instances = [await liveAdmin(t, platform), await liveAdmin(t, platform)];
const [api, otherApi] = instances.map((i) => i.api) as [LiveApi, LiveApi];
const token = await instances[0]!.adminLogin();

async function deletedTenant(slug: string, tier: string) {
  const created = await api('POST', '/admin/tenants', {
    token,
    body: { slug, name: slug, plan: 'starter', tier, owner: { email: `owner@${slug}.example`, name: 'Owner' } },
  });
  if (created.status !== 201) throw new Error(`creating ${slug}: ${JSON.stringify(created.body)}`);
  const id = created.body.tenant.id as string;
  const deleted = await api('DELETE', `/admin/tenants/${id}`, { token });
  if (deleted.status !== 200) throw new Error(`deleting ${slug}: ${JSON.stringify(deleted.body)}`);
  return id;
}

const archivesOf = async (id: string) => (await readdir(exportDir).catch(() => [])).filter((name) => name.includes(id));

t.test('two concurrent purges of one tenant: one purges (one export), the other gets 409, many rounds on every tier', async (t) => {
  const rounds = 9;
  for (let round = 0; round < rounds; round++) {
    const tier = tiers[round % tiers.length]!;
    const id = await deletedTenant(`race-${round}-${tier}`, tier);
    const answers = await Promise.all([api, otherApi].map((instance) => instance('POST', `/admin/tenants/${id}/purge`, { token })));
    t.same(answers.map((a) => a.status).sort(), [200, 409], `round ${round} (${tier}): one purge, one conflict`);
    const refused = answers.find((a) => a.status === 409)?.body;
    t.match(refused, { code: 'STRATA_TENANT_STATE', tenantStatus: /^(purging|purged)$/ }, `round ${round}: the loser is told why`);
    t.equal((await archivesOf(id)).length, 1, `round ${round}: exactly one export archive`);
    t.equal(await platform.catalog.adminAuditEvent.count({ where: { tenantId: id, action: 'tenant.purge' } }), 1, `round ${round}: one purge in the trail`);
  }
  const late = await deletedTenant('late', 'pooled');
  t.equal((await api('POST', `/admin/tenants/${late}/purge`, { token })).status, 200);
  const again = await otherApi('POST', `/admin/tenants/${late}/purge`, { token });
  t.equal(again.status, 409, 'a purge after the purge finished is refused too');
  t.match(again.body, { code: 'STRATA_TENANT_STATE', tenantStatus: 'purged' });
  t.equal((await api('POST', '/admin/tenants/00000000-0000-4000-8000-000000000000/purge', { token })).status, 404, 'a tenant that never existed is 404');
});

t.test('purge archives hold password hashes: 0600 in a 0700 directory whatever the umask, and the answer names no host path', async (t) => {
  for (const tier of tiers) {
    const id = await deletedTenant(`private-${tier}`, tier);
    const res = await api('POST', `/admin/tenants/${id}/purge`, { token });
    const text = JSON.stringify(res.body);
    t.equal(res.status, 200, text);
    const archive = res.body.archive as string;
    t.notOk(text.includes(root), `${tier}: the answer does not disclose the export directory`);
    t.notOk(archive.includes('/'), `${tier}: the archive is named by its file name only`);
    t.same(await archivesOf(id), [archive], `${tier}: the name is the file's in STRATA_PURGE_EXPORT_DIR`);
    t.equal((await stat(join(exportDir, archive))).mode & 0o777, 0o600, `${tier}: the archive is readable by its owner only`);
    t.equal((await stat(exportDir)).mode & 0o777, 0o700, `${tier}: so is the directory`);
    const trail = await platform.catalog.adminAuditEvent.findFirstOrThrow({ where: { tenantId: id, action: 'tenant.purge' } });
    t.notOk(JSON.stringify(trail.details).includes(root), `${tier}: the audit trail records the file name, not the path`);
  }
});
