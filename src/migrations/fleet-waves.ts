/**
 * Waves of a fleet apply (`--waves 5,50,all`): the first wave's tenant targets are migrated, and
 * only if none failed the next wave's, and so on. Sizes count tenants' own targets (schemas and
 * dedicated databases), taken in turn from each tier so a small first wave samples both; a
 * server's pooled tables hold many tenants and join the wave the operator names (the last by
 * default); spare schemas and targets with nothing pending join the last wave and count for none.
 */
import type { MigrationTarget } from './fleet-targets.js';

export interface WaveSpec {
  /** Tenant targets per wave; one more wave after them takes the rest. */
  sizes: number[];
  /** 1-based wave that takes every server's pooled tables; the last when unset. */
  pooledWave?: number;
}

export class WaveSpecError extends Error {
  override name = 'WaveSpecError';
}

/** `5,50,all` → sizes [5, 50] (a last `all` is implied when missing). */
export function parseWaves(spec: string, pooledWave?: number): WaveSpec {
  const parts = spec.split(',').map((p) => p.trim());
  const sizes: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (part === 'all' && i === parts.length - 1) break;
    const n = Number(part);
    if (!/^\d+$/.test(part) || n < 1) throw new WaveSpecError(`--waves takes positive sizes with an optional last "all" (e.g. 5,50,all), not "${spec}"`);
    sizes.push(n);
  }
  const count = sizes.length + 1;
  if (pooledWave !== undefined && (pooledWave < 1 || pooledWave > count)) {
    throw new WaveSpecError(`--pooled-wave must be between 1 and ${count}, the number of waves`);
  }
  return { sizes, pooledWave };
}

/** Schema and dedicated targets interleaved, so the first few of a wave come from every tier. */
function acrossTiers(targets: MigrationTarget[]): MigrationTarget[] {
  const queues = (['schema', 'dedicated'] as const).map((kind) => targets.filter((t) => t.kind === kind));
  const out: MigrationTarget[] = [];
  for (let i = 0; out.length < targets.length; i++) for (const queue of queues) if (i < queue.length) out.push(queue[i]!);
  return out;
}

/**
 * Splits tenant-stream targets into `sizes.length + 1` waves (some may be empty). `pending` says
 * which targets have work: the others are no test of a migration and go last.
 */
export function splitWaves(targets: MigrationTarget[], spec: WaveSpec, pending: (target: MigrationTarget) => boolean): MigrationTarget[][] {
  const waves: MigrationTarget[][] = Array.from({ length: spec.sizes.length + 1 }, () => []);
  const last = waves.length - 1;
  const counted = acrossTiers(targets.filter((t) => (t.kind === 'schema' || t.kind === 'dedicated') && pending(t)));
  let next = 0;
  for (const [i, size] of spec.sizes.entries()) waves[i] = counted.slice(next, (next += size));
  waves[last]!.push(...counted.slice(next));
  waves[(spec.pooledWave ?? waves.length) - 1]!.push(...targets.filter((t) => t.kind === 'pooled'));
  waves[last]!.push(...targets.filter((t) => t.kind === 'spare' || ((t.kind === 'schema' || t.kind === 'dedicated') && !pending(t))));
  return waves;
}

/** `3 targets: 2 schema, 1 dedicated; pooled tables of default (12 tenants)` */
export function describeWave(wave: MigrationTarget[]): string {
  const kinds = new Map((['schema', 'dedicated', 'spare'] as const).map((kind) => [kind, wave.filter((t) => t.kind === kind).length]));
  const pooled = wave.filter((t) => t.kind === 'pooled');
  const parts = [
    `${wave.length} target${wave.length === 1 ? '' : 's'}`,
    [...kinds]
      .filter(([, n]) => n)
      .map(([k, n]) => `${n} ${k}`)
      .join(', '),
  ].filter(Boolean);
  const carried = pooled.map((p) => `${p.server.name} (${p.carries?.count ?? 0} tenant${p.carries?.count === 1 ? '' : 's'})`);
  return `${parts.join(': ')}${carried.length ? `; pooled tables of ${carried.join(', ')}` : ''}`;
}
