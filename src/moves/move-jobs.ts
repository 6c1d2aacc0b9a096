/**
 * Move jobs in the catalog; the target placement is fixed at the request. One move per tenant:
 * `active_tenant_id` is unique until the job finishes, source cleanup included.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { recordAdminAction } from '../admin/admin-audit.js';
import type { CatalogClient, Tenant } from '../catalog/catalog-client.js';
import type { ServerDirectory } from '../catalog/server-directory.js';
import type { TenantDirectory } from '../catalog/tenant-directory.js';
import type { Config } from '../config/config.js';
import type { Prisma, TenantMove } from '../generated/catalog/client.js';
import type { Log } from '../platform/log.js';
import type { TenantRouter } from '../router/tenant-router.js';
import type { ServerRecord } from '../servers/server-access.js';
import { placementNames, type Tier } from '../tenants/placement.js';
import type { ProvisioningDeps } from '../tenants/provision-tenant.js';

export type { TenantMove };
export type MovePhase = TenantMove['phase'];

export interface MoveDeps {
  config: Pick<Config, 'database' | 'moves'>;
  log: Log;
  catalog: CatalogClient;
  servers: Pick<ServerDirectory, 'byId'>;
  /** Announces the flip or a rollback to every API instance. */
  tenants: Pick<TenantDirectory, 'changed'>;
  /** Closes this instance's pool of a dedicated database before it is dropped. */
  router: Pick<TenantRouter, 'closeDatabase'>;
  provisioning: ProvisioningDeps;
  /** The runner's lock session connects to the catalog here. */
  defaultServer: ServerRecord;
}

export const forwardPhases = ['prepare', 'capture', 'copy', 'catchup', 'verify', 'fence', 'final', 'flip', 'invalidate', 'cleanup', 'done'] as const;

/** Phases after which the tenant is served from the target: too late to cancel. */
export const flippedPhases: readonly MovePhase[] = ['invalidate', 'cleanup', 'done'];

export class MoveRefusedError extends Error {
  constructor(
    message: string,
    readonly reason: 'not-found' | 'conflict' | 'invalid',
  ) {
    super(message);
    this.name = 'MoveRefusedError';
  }
}

export interface MoveRequest {
  tenantId: string;
  targetTier: Tier;
  /** Catalog name of the target server; default: the tenant's current server. */
  targetServer?: string;
  /** Who asked: an admin id, or null for an operator script. */
  requestedBy: string | null;
  /** For the admin trail when `requestedBy` is null, e.g. `operator:alice`. */
  operator?: string;
}

/** The tier's usual names, or with the job's suffix when taken. */
async function freeTargetNames(deps: Pick<MoveDeps, 'config' | 'provisioning'>, tenant: Tenant, tier: Tier, server: ServerRecord, jobId: string) {
  const prefix = deps.config.database.prefix;
  const base = placementNames(prefix, tenant.slug, tier, server.tenantsDatabase);
  if (tier === 'pooled') return base;
  const suffix = `_${jobId.replaceAll('-', '').slice(0, 6)}`;
  return deps.provisioning.owners.with(server, server.tenantsDatabase, async (client) => {
    if (tier === 'schema') {
      const taken = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [base.schemaName]);
      return taken.rowCount ? { ...base, schemaName: `${base.schemaName}${suffix}` } : base;
    }
    const taken = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [base.databaseName]);
    // PostgreSQL silently cuts names at 63 bytes: shorten before suffixing.
    return taken.rowCount ? { ...base, databaseName: `${base.databaseName.slice(0, 63 - suffix.length)}${suffix}` } : base;
  });
}

/** Records a move and marks the tenant `moving` (still served); run the job with runMove. */
export async function requestMove(deps: Pick<MoveDeps, 'catalog' | 'config' | 'provisioning'>, request: MoveRequest): Promise<TenantMove> {
  const { catalog } = deps;
  const tenant = await catalog.tenant.findUnique({ where: { id: request.tenantId } });
  if (!tenant || tenant.status === 'deleted') throw new MoveRefusedError('No such tenant', 'not-found');
  if (tenant.status === 'moving') throw new MoveRefusedError('The tenant already has a move under way', 'conflict');
  if (tenant.status !== 'active') throw new MoveRefusedError(`The tenant is ${tenant.status}; only active tenants can be moved`, 'conflict');
  const server = request.targetServer
    ? await catalog.databaseServer.findUnique({ where: { name: request.targetServer } })
    : await catalog.databaseServer.findUnique({ where: { id: tenant.serverId } });
  if (!server) throw new MoveRefusedError(`No database server named ${request.targetServer}`, 'invalid');
  if (request.targetTier === tenant.tier && server.id === tenant.serverId) {
    throw new MoveRefusedError(`The tenant is already ${tenant.tier} on server ${server.name}`, 'invalid');
  }
  const id = randomUUID();
  const names = await freeTargetNames(deps, tenant, request.targetTier, server, id);
  let job: TenantMove;
  try {
    job = await catalog.$transaction(async (tx) => {
      const created = await tx.tenantMove.create({
        data: {
          id,
          tenantId: tenant.id,
          activeTenantId: tenant.id,
          fromTier: tenant.tier,
          fromServerId: tenant.serverId,
          fromSchema: tenant.schemaName,
          fromDatabase: tenant.databaseName,
          toTier: request.targetTier,
          toServerId: server.id,
          toSchema: names.schemaName,
          toDatabase: names.databaseName,
          requestedBy: request.requestedBy,
        },
      });
      // Checked again inside the transaction: a suspension racing the request wins.
      const { count } = await tx.tenant.updateMany({ where: { id: tenant.id, status: 'active' }, data: { status: 'moving' } });
      if (count !== 1) throw new MoveRefusedError('The tenant changed status while the move was being requested', 'conflict');
      return created;
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') {
      throw new MoveRefusedError('The tenant already has a move under way (cleanup of its last move included)', 'conflict');
    }
    throw err;
  }
  await recordAdminAction(catalog, {
    adminId: request.requestedBy,
    operator: request.operator,
    action: 'tenant.move.request',
    tenantId: tenant.id,
    details: { jobId: job.id, from: { tier: job.fromTier, server: tenant.serverId }, to: { tier: job.toTier, server: server.name } },
  });
  return job;
}

/** Refused once flipped (rolling back then would be a move of its own). */
export async function requestCancel(catalog: CatalogClient, jobId: string, adminId: string | null, operator?: string): Promise<TenantMove> {
  const job = await catalog.tenantMove.findUnique({ where: { id: jobId } });
  if (!job) throw new MoveRefusedError('No such move', 'not-found');
  if (job.status !== 'running') throw new MoveRefusedError(`The move is already ${job.status}`, 'conflict');
  const [updated] = await catalog.tenantMove.updateManyAndReturn({
    where: { id: jobId, status: 'running', phase: { notIn: [...flippedPhases, 'flip', 'rollback'] } },
    data: { cancelRequested: true },
  });
  if (!updated) {
    const now = await catalog.tenantMove.findUniqueOrThrow({ where: { id: jobId } });
    throw new MoveRefusedError(
      now.phase === 'rollback' ? 'The move is already rolling back' : 'The tenant has already switched to its new location; cancelling is no longer possible',
      'conflict',
    );
  }
  await recordAdminAction(catalog, { adminId, operator, action: 'tenant.move.cancel', tenantId: job.tenantId, details: { jobId } });
  return updated;
}

export async function setPhase(catalog: CatalogClient, jobId: string, phase: MovePhase, extra: Prisma.TenantMoveUpdateInput = {}) {
  return catalog.tenantMove.update({ where: { id: jobId }, data: { phase, ...extra } });
}

export async function saveProgress(catalog: CatalogClient, jobId: string, progress: MoveProgress) {
  await catalog.tenantMove.update({ where: { id: jobId }, data: { progress: progress as unknown as Prisma.InputJsonObject } });
}

export const tableProgress = z.object({ copied: z.number().int(), total: z.number().int() });

/** The `progress` column. Loose: members a newer version wrote are kept. */
export const moveProgress = z.looseObject({
  tables: z.record(z.string(), tableProgress).optional(),
  copyStartedAt: z.iso.datetime().optional(),
  copyMs: z.number().int().optional(),
  catchUpPasses: z.number().int().optional(),
  caughtUpKeys: z.number().int().optional(),
  verified: z.record(z.string(), z.object({ rows: z.number().int(), checksum: z.string() })).optional(),
  fenceMs: z.number().int().optional(),
  cleanupAfter: z.iso.datetime().optional(),
  /** Migrations applied at both ends when the move started (`<count>:<last name>`). */
  version: z.string().optional(),
});
export type MoveProgress = z.infer<typeof moveProgress>;

/** A damaged document is an error naming the job, never read as valid. */
export function readProgress(job: Pick<TenantMove, 'id' | 'progress'>): MoveProgress {
  const parsed = moveProgress.safeParse(job.progress);
  if (!parsed.success) throw new Error(`The recorded progress of move ${job.id} is malformed: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function unfinishedMoves(catalog: CatalogClient) {
  return catalog.tenantMove.findMany({ where: { status: 'running' }, orderBy: { createdAt: 'asc' } });
}

/** Newest first: finished ones are the tenant's tier history. */
export function tenantMoves(catalog: CatalogClient, tenantId: string) {
  return catalog.tenantMove.findMany({ where: { tenantId }, orderBy: { createdAt: 'desc' } });
}

/** The copy is the first 90 %, each later phase one more. */
export function movePercent(phase: MovePhase, rowsCopied: number, rowsTotal: number): number {
  if (phase === 'done') return 100;
  const index = forwardPhases.indexOf(phase as (typeof forwardPhases)[number]);
  if (index <= forwardPhases.indexOf('copy')) return rowsTotal ? Math.floor((Math.min(rowsCopied, rowsTotal) / rowsTotal) * 90) : 0;
  return Math.min(99, 90 + index - forwardPhases.indexOf('copy'));
}

export function progressSummary(job: TenantMove, now = Date.now()) {
  const progress = readProgress(job);
  const tables = Object.values(progress.tables ?? {});
  const total = tables.reduce((n, t) => n + t.total, 0);
  const copied = tables.reduce((n, t) => n + Math.min(t.copied, t.total), 0);
  let etaSeconds: number | null = null;
  if (job.phase === 'copy' && progress.copyStartedAt && copied > 0) {
    const elapsed = (now - Date.parse(progress.copyStartedAt)) / 1000;
    etaSeconds = Math.round((elapsed / copied) * (total - copied));
  }
  const percent = job.status === 'succeeded' ? 100 : job.phase === 'rollback' ? null : movePercent(job.phase, copied, total);
  return { percent, etaSeconds, rowsCopied: copied, rowsTotal: total };
}
