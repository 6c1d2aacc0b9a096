/**
 * Many moves with bounded concurrency (drain, rebalance). A slot is held until its tenant switched;
 * cleanups run outside the slots. A recorded job is resumed, or watched if another process runs it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { ProgressEvent } from '../progress/progress-reporter.js';
import { flippedPhases, type MoveDeps, MoveRefusedError, readProgress, requestMove, type TenantMove } from './move-jobs.js';
import { MoveBusyError, runMove } from './run-move.js';

export interface PlannedMove {
  tenantId: string;
  slug: string;
  tier: TenantMove['toTier'];
  from: string;
  /** Catalog name of the target server. */
  to: string;
}

export interface MoveBatchOptions {
  concurrency: number;
  actor: string | null;
  onEvent?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
  graceMs?: number;
}

export interface MoveOutcome {
  tenantId: string;
  slug: string;
  to: string;
  status: TenantMove['status'] | 'refused';
  /** Writes paused (fence to switch). */
  fenceMs?: number;
  /** Request to switch. */
  switchMs?: number;
  error?: string;
}

const watchEveryMs = 250;

export async function runMoveBatch(deps: MoveDeps, moves: PlannedMove[], options: MoveBatchOptions): Promise<MoveOutcome[]> {
  const limit = pLimit(Math.max(1, options.concurrency));
  const emit = (event: ProgressEvent) => options.onEvent?.(event);
  const tails: Promise<MoveOutcome>[] = [];
  await Promise.all(
    moves.map((move) =>
      limit(async () => {
        if (options.signal?.aborted) return;
        const { switched, finished } = startMove(deps, move, options, emit);
        tails.push(finished);
        await switched;
      }),
    ),
  );
  return Promise.all(tails);
}

/** `switched` settles once the tenant is served from its target, or the move ended. */
function startMove(deps: MoveDeps, move: PlannedMove, options: MoveBatchOptions, emit: (event: ProgressEvent) => void) {
  let markSwitched!: () => void;
  const switched = new Promise<void>((resolve) => (markSwitched = resolve));
  const started = performance.now();
  const base = { tenant: move.slug, tier: move.tier, from: move.from, to: move.to };
  const finished = (async (): Promise<MoveOutcome> => {
    try {
      const { job, resumed } = await existingOrNewJob(deps, move, options.actor);
      emit({ event: 'move.started', ...base, job: job.id, resumed });
      const onPhase = (phase: TenantMove['phase']) => {
        if (!flippedPhases.includes(phase)) return;
        emit({ event: 'move.switched', ...base, switchMs: Math.round(performance.now() - started) });
        markSwitched();
      };
      const done = await runMove(deps, job.id, { signal: options.signal, graceMs: options.graceMs, onPhase }).catch(async (err: unknown) => {
        if (!(err instanceof MoveBusyError)) throw err;
        return watch(deps.catalog, job.id, markSwitched, options.signal);
      });
      const { fenceMs } = readProgress(done);
      const outcome: MoveOutcome = {
        tenantId: move.tenantId,
        slug: move.slug,
        to: move.to,
        status: done.status,
        fenceMs,
        switchMs: Math.round(performance.now() - started),
      };
      if (done.status !== 'succeeded') outcome.error = done.error ?? done.status;
      emit({ event: done.status === 'succeeded' ? 'move.done' : 'move.failed', ...base, fenceMs, ...(outcome.error && { error: outcome.error }) });
      return outcome;
    } catch (err) {
      const error = (err as Error).message;
      emit({ event: 'move.failed', ...base, error });
      return { tenantId: move.tenantId, slug: move.slug, to: move.to, status: err instanceof MoveRefusedError ? 'refused' : 'failed', error };
    } finally {
      markSwitched();
    }
  })();
  return { switched, finished };
}

/** The tenant's unfinished job, whoever started it, or a new one. */
async function existingOrNewJob(deps: Pick<MoveDeps, 'catalog' | 'config' | 'provisioning'>, move: PlannedMove, actor: string | null) {
  const running = await deps.catalog.tenantMove.findUnique({ where: { activeTenantId: move.tenantId } });
  if (running) return { job: running, resumed: true };
  const job = await requestMove(deps, { tenantId: move.tenantId, targetTier: move.tier, targetServer: move.to, requestedBy: actor });
  return { job, resumed: false };
}

async function watch(catalog: CatalogClient, jobId: string, switched: () => void, signal?: AbortSignal): Promise<TenantMove> {
  for (;;) {
    const job = await catalog.tenantMove.findUniqueOrThrow({ where: { id: jobId } });
    if (flippedPhases.includes(job.phase)) switched();
    if (job.status !== 'running') return job;
    await sleep(watchEveryMs, undefined, { signal });
  }
}
