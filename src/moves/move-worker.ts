/**
 * Runs move jobs in the background of an API process: jobs it is asked to start, and on start-up
 * every unfinished job (a process that died mid-move left it in its recorded phase). The runner's
 * advisory lock lets any number of instances try: exactly one runs each job.
 */
import type { Platform } from '../platform/platform.js';
import { unfinishedMoves } from './move-jobs.js';
import { MoveBusyError, runMove, type RunMoveOptions } from './run-move.js';

export class MoveWorker {
  readonly #running = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();

  constructor(
    private readonly platform: Platform,
    private readonly options: Pick<RunMoveOptions, 'graceMs'> = {},
  ) {}

  /** Starts the job unless this process already runs it; failures are logged, never thrown. */
  start(jobId: string): void {
    if (this.#running.has(jobId) || this.#abort.signal.aborted) return;
    const log = this.platform.log;
    const run = runMove(this.platform, jobId, { ...this.options, signal: this.#abort.signal })
      .then((job) => log.info({ job: jobId, status: job.status, error: job.error }, 'tier move finished'))
      .catch((err: unknown) => {
        if (err instanceof MoveBusyError) log.debug({ job: jobId }, 'tier move runs elsewhere');
        else if (!this.#abort.signal.aborted) log.error({ err, job: jobId }, 'tier move runner stopped');
      })
      .finally(() => this.#running.delete(jobId));
    this.#running.set(jobId, run);
  }

  async resumeUnfinished(): Promise<void> {
    for (const job of await unfinishedMoves(this.platform.catalog)) this.start(job.id);
  }

  /** Stops every runner between steps (their jobs stay resumable) and waits for them. */
  async close(): Promise<void> {
    this.#abort.abort(new Error('the process is shutting down'));
    await Promise.all(this.#running.values());
  }
}
