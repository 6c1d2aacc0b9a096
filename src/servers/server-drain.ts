/**
 * Draining a server (docs/servers.md): its tenants move online to the servers with most room, in
 * rounds; run again after a kill, it resumes the recorded moves.
 */
import type { ProgressEvent } from '../progress/progress-reporter.js';
import { type MoveOutcome, type PlannedMove, runMoveBatch } from '../moves/move-batch.js';
import type { MoveDeps } from '../moves/move-jobs.js';
import { choosePlacement, serverLoads, type TierCounts } from './server-capacity.js';
import { findServer, type RegistryDeps, setServerState } from './server-registry.js';

export type DrainDeps = MoveDeps & Pick<RegistryDeps, 'catalog' | 'servers'>;

export interface DrainOptions {
  concurrency: number;
  actor: string | null;
  onEvent?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
  graceMs?: number;
}

export interface Blocked {
  slug: string;
  reason: string;
}

export interface DrainReport {
  server: string;
  moved: number;
  failed: MoveOutcome[];
  /** Suspended, or no server has room. */
  blocked: Blocked[];
  remaining: number;
  ms: number;
  outcomes: MoveOutcome[];
}

/** A round retries what failed before. */
const maxRounds = 3;

export async function drainServer(deps: DrainDeps, name: string, options: DrainOptions): Promise<DrainReport> {
  const started = performance.now();
  const server = await findServer(deps.catalog, name);
  if (server.state !== 'draining') await setServerState(deps, options.actor, name, 'draining');
  const outcomes: MoveOutcome[] = [];
  let blocked: Blocked[] = [];
  for (let round = 1; round <= maxRounds; round++) {
    options.signal?.throwIfAborted();
    const plan = await planDrain(deps, server.id, server.name);
    blocked = plan.blocked;
    options.onEvent?.({ event: 'drain.planned', server: name, round, moves: plan.moves.length, blocked: plan.blocked.length });
    if (!plan.moves.length) break;
    const results = await runMoveBatch(deps, plan.moves, options);
    outcomes.push(...results);
    if (!results.some((r) => r.status === 'succeeded')) break;
  }
  const remaining = await deps.catalog.tenant.count({ where: { serverId: server.id, status: { not: 'deleted' } } });
  const moved = outcomes.filter((o) => o.status === 'succeeded').length;
  const movedIds = new Set(outcomes.filter((o) => o.status === 'succeeded').map((o) => o.tenantId));
  const failed = outcomes.filter((o) => o.status !== 'succeeded' && !movedIds.has(o.tenantId));
  return { server: name, moved, failed, blocked, remaining, ms: Math.round(performance.now() - started), outcomes };
}

/** Recorded moves resume as they are (cleanup included); others go where choosePlacement picks. */
export async function planDrain(
  deps: Pick<RegistryDeps, 'catalog'>,
  serverId: string,
  serverName: string,
): Promise<{ moves: PlannedMove[]; blocked: Blocked[] }> {
  const { catalog } = deps;
  const [running, loads] = await Promise.all([catalog.tenantMove.findMany({ where: { status: 'running', fromServerId: serverId } }), serverLoads(catalog)]);
  const tenants = await catalog.tenant.findMany({
    where: { OR: [{ serverId, status: { not: 'deleted' } }, { id: { in: running.map((job) => job.tenantId) } }] },
    orderBy: { slug: 'asc' },
  });
  const names = new Map(loads.map((l) => [l.server.id, l.server.name]));
  const others = loads.filter((l) => l.server.id !== serverId);
  const jobs = new Map(running.map((job) => [job.tenantId, job]));
  const moves: PlannedMove[] = [];
  const blocked: Blocked[] = [];
  for (const tenant of tenants) {
    const job = jobs.get(tenant.id);
    if (job) {
      moves.push({ tenantId: tenant.id, slug: tenant.slug, tier: job.toTier, from: serverName, to: names.get(job.toServerId) ?? job.toServerId });
      continue;
    }
    if (tenant.status !== 'active') {
      blocked.push({ slug: tenant.slug, reason: `${tenant.status}: only active tenants are moved (resume it, or delete and purge it)` });
      continue;
    }
    const target = choosePlacement(others, tenant.tier);
    if (!target) {
      blocked.push({ slug: tenant.slug, reason: `no other server takes a ${tenant.tier} tenant` });
      continue;
    }
    target.tenants[tenant.tier]++;
    moves.push({ tenantId: tenant.id, slug: tenant.slug, tier: tenant.tier, from: serverName, to: target.server.name });
  }
  return { moves, blocked };
}

/** From the catalog: any process may be running the drain. */
export async function drainStatus(deps: Pick<RegistryDeps, 'catalog'>, name: string) {
  const { catalog } = deps;
  const server = await findServer(catalog, name);
  const [counts, moving, plan] = await Promise.all([
    catalog.tenant.groupBy({ by: ['tier'], where: { serverId: server.id, status: { not: 'deleted' } }, _count: { _all: true } }),
    catalog.tenantMove.count({ where: { status: 'running', fromServerId: server.id } }),
    planDrain(deps, server.id, server.name),
  ]);
  const remaining: TierCounts = { pooled: 0, schema: 0, dedicated: 0 };
  for (const c of counts) remaining[c.tier] = c._count._all;
  return { server: name, state: server.state, remaining, moving, blocked: plan.blocked };
}
