/** Request and response schemas of the move admin routes, and the job's public view. */
import { z } from 'zod';
import { tiers } from '../tenants/placement.js';
import { forwardPhases, progressSummary, readProgress, tableProgress, type TenantMove } from './move-jobs.js';

export const moveRequestBody = z
  .object({
    targetTier: z.enum(tiers),
    targetServer: z.string().trim().min(1).max(100).optional(),
  })
  .strict();

export const tenantParams = z.object({ id: z.uuid() }).strict();
export const jobParams = z.object({ jobId: z.uuid() }).strict();

const location = z.object({ tier: z.enum(tiers), serverId: z.uuid(), schema: z.string(), database: z.string() });

export const moveView = z.object({
  id: z.uuid(),
  tenantId: z.uuid(),
  from: location,
  to: location,
  phase: z.enum([...forwardPhases, 'rollback']),
  status: z.enum(['running', 'succeeded', 'cancelled', 'failed']),
  cancelRequested: z.boolean(),
  /** Null while rolling back. */
  percent: z.number().int().nullable(),
  /** Seconds left in the bulk copy, while it runs. */
  etaSeconds: z.number().int().nullable(),
  rowsCopied: z.number().int(),
  rowsTotal: z.number().int(),
  tables: z.record(z.string(), tableProgress),
  catchUpPasses: z.number().int(),
  /** Writes paused (fence to switch), once switched. */
  fenceMs: z.number().int().nullable(),
  error: z.string().nullable(),
  requestedBy: z.string().nullable(),
  createdAt: z.string(),
  fencedAt: z.string().nullable(),
  flippedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

export const moveList = z.object({ items: z.array(moveView) });

export function toMoveView(job: TenantMove): z.infer<typeof moveView> {
  const progress = readProgress(job);
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: job.id,
    tenantId: job.tenantId,
    from: { tier: job.fromTier, serverId: job.fromServerId, schema: job.fromSchema, database: job.fromDatabase },
    to: { tier: job.toTier, serverId: job.toServerId, schema: job.toSchema, database: job.toDatabase },
    phase: job.phase,
    status: job.status,
    cancelRequested: job.cancelRequested,
    ...progressSummary(job),
    tables: progress.tables ?? {},
    catchUpPasses: progress.catchUpPasses ?? 0,
    fenceMs: progress.fenceMs ?? null,
    error: job.error,
    requestedBy: job.requestedBy,
    createdAt: job.createdAt.toISOString(),
    fencedAt: iso(job.fencedAt),
    flippedAt: iso(job.flippedAt),
    finishedAt: iso(job.finishedAt),
  };
}
