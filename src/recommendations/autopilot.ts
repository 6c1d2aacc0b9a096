/** Autopilot: recommended moves in the quiet hours, `maxMoves` running at most (admins' too). */
import { recordAdminAction } from '../admin/admin-audit.js';
import type { CatalogClient } from '../catalog/catalog-client.js';
import { MoveRefusedError, type MoveRequest, type TenantMove } from '../moves/move-jobs.js';
import type { Log } from '../platform/log.js';
import type { Recommendation } from './tier-advice.js';

/** UTC hours [from, to); from > to wraps midnight (22-4), 0-24 is all day. */
export interface QuietHours {
  from: number;
  to: number;
}

export const autopilotActor = 'autopilot';

export function inQuietHours(hours: QuietHours, at: Date): boolean {
  const hour = at.getUTCHours();
  return hours.from < hours.to ? hour >= hours.from && hour < hours.to : hour >= hours.from || hour < hours.to;
}

export interface AutopilotDeps {
  catalog: CatalogClient;
  log: Log;
  recommendations(): Promise<Recommendation[]>;
  requestMove(request: MoveRequest): Promise<TenantMove>;
  startMove(jobId: string): void;
}

export interface AutopilotOptions {
  maxMoves: number;
  hours: QuietHours;
}

export interface RoundResult {
  started: { tenantId: string; jobId: string }[];
  idle?: 'outside-quiet-hours' | 'budget-spent' | 'another-instance';
}

/** One instance at a time fleet-wide: a catalog advisory lock held by the round's transaction. */
export async function autopilotRound(deps: AutopilotDeps, options: AutopilotOptions, now = new Date()): Promise<RoundResult> {
  if (!inQuietHours(options.hours, now)) return { started: [], idle: 'outside-quiet-hours' };
  // The transaction only holds the lock; the work runs on other connections.
  return deps.catalog.$transaction(
    async (tx) => {
      const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtextextended('strata.autopilot', 0)) AS locked`;
      if (!lock?.locked) return { started: [], idle: 'another-instance' as const };
      const running = await deps.catalog.tenantMove.count({ where: { status: 'running' } });
      const budget = options.maxMoves - running;
      if (budget <= 0) return { started: [], idle: 'budget-spent' as const };
      const started: RoundResult['started'] = [];
      for (const rec of await deps.recommendations()) {
        if (started.length >= budget) break;
        if (!rec.move) continue;
        let job: TenantMove;
        try {
          job = await deps.requestMove({ tenantId: rec.tenantId, ...rec.move, requestedBy: null, operator: autopilotActor });
        } catch (err) {
          // E.g. an admin moved it meanwhile; the next may still go.
          if (!(err instanceof MoveRefusedError)) throw err;
          deps.log.info({ tenant: rec.tenantId, reason: err.message }, 'autopilot: move refused');
          continue;
        }
        await recordAdminAction(deps.catalog, {
          adminId: null,
          operator: autopilotActor,
          action: 'tenant.move.autopilot',
          tenantId: rec.tenantId,
          details: { jobId: job.id, direction: rec.direction, from: rec.current, to: rec.suggested, evidence: rec.evidence },
        });
        deps.startMove(job.id);
        started.push({ tenantId: rec.tenantId, jobId: job.id });
        deps.log.info({ tenant: rec.tenantId, job: job.id, direction: rec.direction, to: rec.suggested }, 'autopilot: move started');
      }
      return { started };
    },
    { maxWait: 10_000, timeout: 120_000 },
  );
}

/** Never two rounds at once; close() waits for the one under way. */
export function startAutopilot(deps: AutopilotDeps, options: AutopilotOptions & { everyMs: number }): { close(): Promise<void> } {
  let round: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (round) return;
    round = autopilotRound(deps, options)
      .catch((err: unknown) => deps.log.warn({ err }, 'autopilot round failed'))
      .finally(() => (round = undefined));
  }, options.everyMs);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await round;
    },
  };
}
