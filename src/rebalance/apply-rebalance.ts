/**
 * Carrying out a rebalancing plan: audited as `server.rebalance` before any move starts (a killed
 * run stays on record); its moves then go through the move batch.
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
