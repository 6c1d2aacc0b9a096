/** Waves of a fleet apply (`--waves 5,50,all`), each gated on the last (docs/migrations.md#waves). */
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

/** Interleaved, so a wave's first few come from every tier. */
function acrossTiers(targets: MigrationTarget[]): MigrationTarget[] {
  const queues = (['schema', 'dedicated'] as const).map((kind) => targets.filter((t) => t.kind === kind));
  const out: MigrationTarget[] = [];
  for (let i = 0; out.length < targets.length; i++) for (const queue of queues) if (i < queue.length) out.push(queue[i]!);
  return out;
}

/** `sizes.length + 1` waves (some empty); targets without `pending` work test nothing and go last. */
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
