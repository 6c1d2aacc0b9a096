/**
 * Moves a tenant to another tier (or server) online, with a progress bar:
 *
 *   npm run move -- --tenant acme --to dedicated [--server eu-2]   request a move and run it
 *     (recorded in the admin trail as the operator: --actor <who>, default `operator:<OS user>`)
 *   npm run move -- --resume <job id>                             resume an unfinished move
 *   npm run move -- --cancel <job id>                             cancel before the switch (rolls back)
 *   npm run move -- --history --tenant acme                       the tenant's moves, newest first
 *
 * Interrupted (Ctrl-C, crash), the move stays recorded in its phase: --resume continues it, and an
 * API instance resumes it on start. Exit code 0 only when the move succeeded (or was cancelled as asked).
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { MoveRefusedError, movePercent, requestCancel, requestMove, tenantMoves, type MovePhase } from '../src/moves/move-jobs.js';
import { MoveBusyError, runMove } from '../src/moves/run-move.js';
import type { Platform } from '../src/platform/platform.js';
import { createProgressReporter } from '../src/progress/progress-reporter.js';
import { tiers, type Tier, uuidPattern } from '../src/tenants/placement.js';
import { UsageError, withPlatform } from './cli.js';

const usage =
  'usage: move --tenant <slug|id> --to pooled|schema|dedicated [--server <name>] [--actor <who>] | --resume <job> | --cancel <job> | --history --tenant <slug|id>';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    to: { type: 'string' },
    server: { type: 'string' },
    resume: { type: 'string' },
    cancel: { type: 'string' },
    history: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    actor: { type: 'string' },
  },
});
const operator = values.actor ?? `operator:${userInfo().username}`;

async function findTenant(platform: Platform, key: string | undefined) {
  if (!key) throw new UsageError(usage);
  const tenant = await platform.catalog.tenant.findFirst({ where: uuidPattern.test(key) ? { id: key } : { slug: key } });
  if (!tenant) throw new UsageError(`no tenant ${key}`);
  return tenant;
}

async function run(platform: Platform, jobId: string): Promise<number> {
  const progress = createProgressReporter({ tty: !values.json && process.stderr.isTTY, out: process.stdout, err: process.stderr });
  const job = await platform.catalog.tenantMove.findUniqueOrThrow({ where: { id: jobId } });
  progress.start(100, `move ${job.fromTier} → ${job.toTier}`);
  const totals = new Map<string, number>();
  const copied = new Map<string, number>();
  let phase: MovePhase = job.phase;
  let shown = 0;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort(new Error('interrupted: resume with --resume ' + jobId)));
  const finished = await runMove(platform, jobId, {
    signal: abort.signal,
    onProgress: (event) => {
      if (event.event === 'move.phase') phase = event.phase as MovePhase;
      if (event.event === 'move.totals') for (const [t, n] of Object.entries(event.totals as Record<string, number>)) totals.set(t, n);
      if (event.event === 'move.copied') copied.set(event.table as string, event.copied as number);
      const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      const percent = movePercent(phase, sum(copied), sum(totals));
      progress.report(event, Math.max(0, percent - shown));
      shown = Math.max(shown, percent);
    },
  }).catch((err: unknown) => {
    if (err instanceof MoveBusyError) throw new UsageError(`${err.message} (an API instance may be running it; watch GET /admin/moves/${jobId})`);
    throw err;
  });
  progress.finish({ event: 'move.finished', job: jobId, status: finished.status, phase: finished.phase, ...(finished.error && { error: finished.error }) });
  return finished.status === 'succeeded' || (finished.status === 'cancelled' && values.cancel) ? 0 : 1;
}

await withPlatform(async (platform) => {
  try {
    if (values.resume) return await run(platform, values.resume);
    if (values.cancel) {
      await requestCancel(platform.catalog, values.cancel, null, operator);
      return await run(platform, values.cancel);
    }
    const tenant = await findTenant(platform, values.tenant);
    if (values.history) {
      for (const m of await tenantMoves(platform.catalog, tenant.id)) {
        console.log(
          JSON.stringify({
            id: m.id,
            from: m.fromTier,
            to: m.toTier,
            status: m.status,
            phase: m.phase,
            createdAt: m.createdAt,
            flippedAt: m.flippedAt,
            error: m.error,
          }),
        );
      }
      return 0;
    }
    if (!tiers.includes(values.to as Tier)) throw new UsageError(usage);
    const job = await requestMove(platform, { tenantId: tenant.id, targetTier: values.to as Tier, targetServer: values.server, requestedBy: null, operator });
    console.error(`move ${job.id}: ${tenant.slug} ${job.fromTier} → ${job.toTier} (${job.toDatabase}/${job.toSchema})`);
    return await run(platform, job.id);
  } catch (err) {
    if (err instanceof MoveRefusedError) throw new UsageError(err.message);
    throw err;
  }
});
