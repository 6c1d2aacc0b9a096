/** Each target's state (GET /admin/migrations) with its last recorded failure. */
import type { CatalogClient } from '../catalog/catalog-client.js';
import type { ServerRecord } from '../servers/server-access.js';
import { inspectFleet, type TargetState } from './fleet-runner.js';
import { discoverTargets, type TargetFilter } from './fleet-targets.js';
import type { MigrationFolder } from './migration-files.js';

export const targetStates = ['current', 'pending', 'failed', 'refused', 'unreachable'] as const;

export interface MigrationStatusDeps {
  catalog: CatalogClient;
  catalogTarget: { server: ServerRecord; database: string };
  migrations: Record<'catalog' | 'tenant', MigrationFolder[]>;
}

/** A failure or refusal outranks pending work, which outranks being current. */
export function stateOf(target: TargetState, lastFailure: { error: string } | undefined): (typeof targetStates)[number] {
  if (target.unreachable) return 'unreachable';
  if (target.changed.length || target.unknown.length) return 'refused';
  if (target.error || lastFailure) return 'failed';
  return target.pending.length ? 'pending' : 'current';
}

export async function migrationStatus(deps: MigrationStatusDeps, filter: TargetFilter = {}) {
  const targets = await discoverTargets(deps.catalog, deps.catalogTarget, filter);
  const [states, failures] = await Promise.all([
    inspectFleet(targets, { migrations: deps.migrations, connectTimeoutMs: 5_000 }),
    deps.catalog.migrationFailure.findMany(),
  ]);
  const failureOf = new Map(failures.map((f) => [f.targetId, f]));
  const tenantOf = new Map(targets.map((t) => [t.id, t.tenantSlug ?? null]));
  return states.map((s) => {
    const failure = failureOf.get(s.target);
    return {
      target: s.target,
      kind: s.kind,
      server: s.server,
      tenant: tenantOf.get(s.target) ?? null,
      state: stateOf(s, failure),
      lastApplied: s.lastApplied,
      pending: s.pending,
      error:
        s.error ??
        failure?.error ??
        (s.changed.length ? `changed after apply: ${s.changed.join(', ')}` : s.unknown.length ? `ahead of the code: ${s.unknown.join(', ')}` : null),
      failedAt: failure?.failedAt.toISOString() ?? null,
      ...(s.carries && { carries: s.carries.count }),
    };
  });
}
