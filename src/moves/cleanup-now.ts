/** Finishing a tenant's moves now, for a purge: no location outlives the job that records it. */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, problems } from '../http/problems.js';
import { flippedPhases, type MoveDeps, readProgress } from './move-jobs.js';
import { MoveBusyError, runMove } from './run-move.js';

/** Throws a conflict when a move has not flipped or its cleanup outlasts `timeoutMs`. */
export async function cleanupNow(deps: MoveDeps, tenantId: string, timeoutMs = 30_000): Promise<void> {
  const { catalog } = deps;
  const deadline = AbortSignal.timeout(timeoutMs);
  for (;;) {
    const jobs = await catalog.tenantMove.findMany({ where: { tenantId, status: 'running' } });
    if (!jobs.length) return;
    for (const job of jobs) {
      if (!flippedPhases.includes(job.phase)) {
        throw new AppError(problems.moveConflict, `The tenant has a move in phase ${job.phase}; wait for it to finish or cancel it first`);
      }
      const progress = readProgress(job);
      if (Date.parse(progress.cleanupAfter ?? '') > Date.now()) {
        await catalog.tenantMove.update({ where: { id: job.id }, data: { progress: { ...progress, cleanupAfter: new Date().toISOString() } } });
      }
      await runMove(deps, job.id, { signal: deadline }).catch((err: unknown) => {
        if (!(err instanceof MoveBusyError) && !deadline.aborted) throw err;
      });
    }
    if (deadline.aborted) {
      const stuck = await catalog.tenantMove.findFirst({ where: { tenantId, status: 'running' } });
      if (!stuck) return;
      throw new AppError(
        problems.moveConflict,
        `The tenant's move ${stuck.id} is still removing its former location${stuck.error ? ` (${stuck.error})` : ''}; try again later`,
      );
    }
    await sleep(200);
  }
}
