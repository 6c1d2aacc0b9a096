/**
 * Purging a soft-deleted tenant: an export archive, its data, its catalog row last; each step is safe
 * to repeat, so rerunning finishes an interrupted purge. One purge per tenant across instances (a
 * session advisory lock, freed if the process dies); another is refused (409), not queued.
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import type { Tenant } from '../catalog/catalog-client.js';
import type { Config } from '../config/config.js';
import { AppError, problems } from '../http/problems.js';
import { cleanupNow } from '../moves/cleanup-now.js';
import type { MoveDeps } from '../moves/move-jobs.js';
import { databaseNames } from '../platform/platform.js';
import { connectionConfig } from '../servers/server-access.js';
import { dropTenantStorage } from '../tenants/tenant-storage.js';
import { type ExportDeps, exportTenant, totalRows } from '../transfer/export-tenant.js';
import { recordAdminAction } from './admin-audit.js';
import { TenantNotFoundError, TenantStateError } from './tenant-lifecycle.js';

export type PurgeDeps = MoveDeps & ExportDeps & { config: Pick<Config, 'purgeExportDir'> };

/** `archive` is a file name in STRATA_PURGE_EXPORT_DIR: answers never disclose host paths. */
export async function purgeTenant(deps: PurgeDeps, actor: string | null, id: string): Promise<{ tenant: Tenant; archive: string; rows: number }> {
  return withPurgeLock(deps, id, async () => {
    const tenant = await deps.catalog.tenant.findUnique({ where: { id } });
    if (!tenant) {
      const purged = await deps.catalog.adminAuditEvent.findFirst({ where: { tenantId: id, action: 'tenant.purge' }, orderBy: { at: 'desc' } });
      if (purged) throw new AppError(problems.tenantState, `The tenant was purged at ${purged.at.toISOString()}`, undefined, { tenantStatus: 'purged' });
      throw new TenantNotFoundError();
    }
    return purge(deps, actor, tenant);
  });
}

async function withPurgeLock<T>(deps: Pick<PurgeDeps, 'defaultServer' | 'config'>, id: string, fn: () => Promise<T>): Promise<T> {
  const lock = new pg.Client(connectionConfig(deps.defaultServer, 'owner', databaseNames(deps.config.database.prefix).catalog));
  lock.on('error', () => undefined); // a terminated lock session must not end the process
  await lock.connect();
  try {
    const { rows } = await lock.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended('strata.purge.' || $1::text, 0)) AS ok`, [id]);
    if (!rows[0]!.ok) throw new AppError(problems.tenantState, 'The tenant is being purged by another request', undefined, { tenantStatus: 'purging' });
    return await fn();
  } finally {
    // Ending the session releases the lock.
    await lock.end().catch(() => undefined);
  }
}

async function purge(deps: PurgeDeps, actor: string | null, tenant: Tenant) {
  const { id } = tenant;
  if (tenant.status !== 'deleted') throw new TenantStateError(tenant, 'purged before it is deleted');
  // A move deleted during its grace period still holds the tenant's former location: removed first.
  await cleanupNow(deps, id);
  const { archive, rows } = await exportBeforePurge(deps, tenant);
  await dropTenantStorage(deps.provisioning, tenant);
  await deps.catalog.tenant.delete({ where: { id } });
  await deps.tenants.changed(id);
  await recordAdminAction(deps.catalog, {
    adminId: actor,
    action: 'tenant.purge',
    tenantId: id,
    details: { slug: tenant.slug, tier: tenant.tier, schema: tenant.schemaName, database: tenant.databaseName, archive, rows },
  });
  return { tenant, archive, rows };
}

/**
 * Flushed and closed before any data is dropped; a failed export stops the purge. It holds password
 * hashes: owner-only file and directory whatever the umask, which masks mkdir and open, not chmod.
 */
async function exportBeforePurge(deps: Pick<PurgeDeps, 'servers' | 'config'>, tenant: Tenant) {
  const dir = resolve(deps.config.purgeExportDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = join(dir, `${tenant.slug}-${tenant.id}-${new Date().toISOString().replace(/[:.]/g, '-')}.strata`);
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  try {
    await new Promise((opened, failed) => out.once('open', opened).once('error', failed));
    await chmod(path, 0o600);
    const manifest = await exportTenant(deps, tenant, out);
    out.end();
    await finished(out);
    return { archive: basename(path), rows: totalRows(manifest) };
  } catch (err) {
    out.destroy();
    await rm(path, { force: true });
    throw err;
  }
}
