/**
 * Runs move jobs in an API process. The runner's advisory lock is the job's lease: one instance runs
 * each job; the next to look adopts one whose runner died. Failed runners restart with backoff.
 */
import { type MoveDeps, unfinishedMoves } from './move-jobs.js';
import { MoveBusyError, runMove, type RunMoveOptions } from './run-move.js';

const maxRestartDelayMs = 60_000;

export class MoveWorker {
  readonly #running = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  readonly #restarts = new Map<string, { attempt: number; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly deps: MoveDeps,
    private readonly options: Pick<RunMoveOptions, 'graceMs'> = {},
  ) {}

  /** Starts the job unless this process already runs it; failures are logged, never thrown. */
  start(jobId: string): void {
    if (this.#running.has(jobId) || this.#abort.signal.aborted) return;
    const log = this.deps.log;
    const restart = this.#restarts.get(jobId);
    if (restart?.timer) clearTimeout(restart.timer);
    const run = runMove(this.deps, jobId, { ...this.options, signal: this.#abort.signal })
      .then((job) => {
        this.#restarts.delete(jobId);
        log.info({ job: jobId, status: job.status, error: job.error }, 'tier move finished');
      })
      .catch((err: unknown) => {
        if (err instanceof MoveBusyError) {
          this.#restarts.delete(jobId);
          log.debug({ job: jobId }, 'tier move runs elsewhere');
        } else if (!this.#abort.signal.aborted) {
          const attempt = (restart?.attempt ?? 0) + 1;
          const delayMs = Math.min(maxRestartDelayMs, 1000 * 2 ** (attempt - 1));
          log.error({ err, job: jobId, attempt, delayMs }, 'tier move runner stopped; starting it again');
          this.#restarts.set(jobId, { attempt, timer: setTimeout(() => this.start(jobId), delayMs) });
        }
      })
      .finally(() => this.#running.delete(jobId));
    this.#running.set(jobId, run);
  }

  /** Skips jobs this process runs or waits to restart. */
  async resumeUnfinished(): Promise<void> {
    for (const job of await unfinishedMoves(this.deps.catalog)) if (!this.#restarts.has(job.id)) this.start(job.id);
  }

  adoptOrphans(everyMs = 10_000): void {
    const timer = setInterval(() => {
      this.resumeUnfinished().catch((err: unknown) => this.deps.log.warn({ err }, 'looking for orphaned tier moves failed'));
    }, everyMs);
    timer.unref();
    this.#abort.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }

  /** Stops runners between steps (jobs stay resumable) and waits for them. */
  async close(): Promise<void> {
    this.#abort.abort(new Error('the process is shutting down'));
    for (const { timer } of this.#restarts.values()) clearTimeout(timer);
    await Promise.all(this.#running.values());
  }
}
