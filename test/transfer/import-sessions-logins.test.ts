/**
 * What an import does to logging in, through the public API only: a clone must not accept the
 * source's refresh tokens, and restored or cloned users must log in by email and password alone
 * (docs/export-import.md), on every tier.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { addLoginRoute } from '../../src/auth/login-index.js';
import { archiveMediaType } from '../../src/transfer/archive-format.js';
import { provision, startTestPlatform, tiers } from '../helper.js';
import { liveAdmin } from '../support/live-admin.js';
import { decodeClaims } from '../support/live-api.js';

const exportDir = await mkdtemp(join(tmpdir(), 'strata-import-logins-'));
t.teardown(() => rm(exportDir, { recursive: true, force: true }));
const platform = await startTestPlatform(t, { STRATA_PURGE_EXPORT_DIR: exportDir, STRATA_SPARE_SCHEMAS: '0' });
const live = await liveAdmin(t, platform);
const { api } = live;
const admin = await live.adminLogin();
const login = (email: string, password: string) => api('POST', '/auth/login', { body: { email, password } });

async function tenantWithOwner(slug: string, tier: string) {
  const res = await api('POST', '/admin/tenants', {
    token: admin,
    body: { slug, name: slug, plan: 'business', tier, owner: { email: `ada@${slug}.example`, name: 'Ada' } },
  });
  if (res.status !== 201) throw new Error(`creating ${slug}: ${JSON.stringify(res.body)}`);
  return res.body as { tenant: { id: string; slug: string }; owner: { email: string; password: string } };
}

async function loggedIn(email: string, password: string) {
  const res = await login(email, password);
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { accessToken: string; refreshToken: string };
}

async function exportOf(id: string) {
  const res = await live.raw('GET', `/admin/tenants/${id}/export`, { token: admin });
  if (res.status !== 200) throw new Error(`export: ${res.status} ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

const importInto = (id: string, archive: Buffer) => live.raw('POST', `/admin/tenants/${id}/import`, { token: admin, body: archive, type: archiveMediaType });
const refresh = (refreshToken: string) => api('POST', '/auth/refresh', { body: { refreshToken } });

for (const tier of tiers) {
  t.test(`${tier}: a clone refuses the source tenant's refresh tokens; the source keeps accepting them`, async (t) => {
    const source = await tenantWithOwner(`sessions-${tier}`, tier);
    const session = await loggedIn(source.owner.email, source.owner.password);
    const archive = await exportOf(source.tenant.id);
    const clone = await provision(platform, tier, 'session-clone');
    const imported = await importInto(clone.id, archive);
    t.equal(imported.status, 200, await imported.clone().text());

    // The token names its tenant; the same secret presented for the clone must open nothing.
    const [, , secret] = session.refreshToken.split('.');
    const forClone = await refresh(`rt.${clone.id}.${secret}`);
    t.equal(forClone.status, 401, 'the source’s refresh token is refused for the clone');
    t.match(forClone.body, { code: 'STRATA_AUTH_REFRESH_REJECTED' });

    const forSource = await refresh(session.refreshToken);
    t.equal(forSource.status, 200, 'and still works for the source');
    t.equal(decodeClaims(forSource.body.accessToken as string).tid, source.tenant.id);
  });

  t.test(`${tier}: after a restore and after a clone, users log in with email and password only`, async (t) => {
    const original = await tenantWithOwner(`login-${tier}`, tier);
    const token = (await loggedIn(original.owner.email, original.owner.password)).accessToken;
    const lead = await api('POST', '/leads', { token, body: { name: 'Grace Hopper', email: 'grace@example.com' } });
    t.equal(lead.status, 201);

    // Clone: the source lives on, so the email opens two tenants and the login asks which.
    const clone = await provision(platform, tier, 'login-clone');
    await addLoginRoute(platform.catalog, 'left-over@old.example', clone.id);
    t.equal((await importInto(clone.id, await exportOf(original.tenant.id))).status, 200);
    const choice = await login(original.owner.email, original.owner.password);
    t.equal(choice.status, 409, 'the clone is found by email');
    const slugs = ((choice.body.tenants ?? []) as { slug: string }[]).map((x) => x.slug).sort();
    t.same(slugs, [clone.slug, original.tenant.slug].sort(), 'both tenants are offered');
    t.same(
      (await platform.catalog.loginRoute.findMany({ where: { tenantId: clone.id } })).map((r) => r.email),
      [original.owner.email],
      'the clone’s routes are its imported users, the stale one is gone',
    );

    // Restore: the tenant is deleted and purged, its purge archive goes into a new tenant.
    t.equal((await api('DELETE', `/admin/tenants/${original.tenant.id}`, { token: admin })).status, 200);
    const purged = await api('POST', `/admin/tenants/${original.tenant.id}/purge`, { token: admin });
    t.equal(purged.status, 200);
    const archive = purged.body.archive as string;
    await api('DELETE', `/admin/tenants/${clone.id}`, { token: admin });
    const restored = await provision(platform, tier, 'login-restored');
    t.equal((await importInto(restored.id, await readFile(join(exportDir, archive)))).status, 200);

    const res = await login(original.owner.email, original.owner.password);
    t.equal(res.status, 200, 'email and password alone log in to the restored tenant');
    const accessToken = res.body.accessToken as string;
    t.equal(decodeClaims(accessToken).tid, restored.id);
    const leads = await api('GET', '/leads', { token: accessToken });
    t.match(leads.body, { items: [{ name: 'Grace Hopper' }] }, 'and its data is there');
  });
}
