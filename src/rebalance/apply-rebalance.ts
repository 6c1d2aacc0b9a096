/**
 * Carrying out a rebalancing plan (CLI and admin API alike): the run is audited as
 * `server.rebalance` before any move starts (a killed run is still on record), then its moves go
 * through the move batch, a bounded number at once, each an audited, resumable job.
 */
import { recordAdminAction } from '../admin/admin-audit.js';
import { type MoveBatchOptions, type MoveOutcome, runMoveBatch } from '../moves/move-batch.js';
import type { MoveDeps } from '../moves/move-jobs.js';
import type { RebalancePlan } from './rebalance-plan.js';

export interface RebalanceOutcome {
  moved: number;
  failed: { tenant: string; error: string | undefined }[];
  outcomes: MoveOutcome[];
}

export async function applyRebalance(deps: MoveDeps, plan: RebalancePlan, options: MoveBatchOptions & { windowMs: number }): Promise<RebalanceOutcome> {
  await recordAdminAction(deps.catalog, {
    adminId: options.actor,
    action: 'server.rebalance',
    details: {
      by: plan.by,
      ...(plan.by === 'dbTime' && { windowMs: options.windowMs }),
      tolerance: plan.tolerance,
      moves: plan.moves.map(({ slug, from, to }) => ({ slug, from, to })),
      spreadBefore: plan.spreadBefore,
      plannedSpread: plan.spreadAfter,
    },
  });
  const outcomes = await runMoveBatch(deps, plan.moves, options);
  const failed = outcomes.filter((o) => o.status !== 'succeeded');
  return { moved: outcomes.length - failed.length, failed: failed.map((f) => ({ tenant: f.slug, error: f.error })), outcomes };
}
