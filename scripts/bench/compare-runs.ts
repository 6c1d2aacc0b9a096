/**
 * What `npm run bench:compare` concludes from its runs: each benchmark row's ratio on both sides,
 * paired by round (the two runs of a round ran back to back), so a change is read from the paired
 * differences rather than from two means that drift with the machine.
 */
import { round } from './bench-kit.js';

export type Side = 'before' | 'after';

/** One benchmark run's rows: measure → ratio in percent (rows without a numeric ratio are left out). */
export type RunRatios = Map<string, number>;

export interface RowComparison {
  bench: string;
  measure: string;
  before: number[];
  after: number[];
  /** after − before of each round that has both, in points. */
  changes: number[];
}

/** `ratio` as the benchmarks write it: `83.8%`, `83.8% (slices 70–95%)` or a fraction. */
export function ratioPercent(value: unknown): number | undefined {
  const text = String(value ?? '');
  const number = Number.parseFloat(text);
  if (!Number.isFinite(number)) return undefined;
  return /^\s*[\d.]+\s*%/.test(text) ? number : number * 100;
}

export function ratiosOf(rows: Record<string, unknown>[]): RunRatios {
  const ratios: RunRatios = new Map();
  for (const row of rows) {
    const ratio = ratioPercent(row.ratio);
    if (typeof row.measure === 'string' && ratio !== undefined) ratios.set(row.measure, ratio);
  }
  return ratios;
}

/** `rounds[i][side]`: that round's run of `bench` on that side (absent when it failed). */
export function compareRows(bench: string, rounds: Partial<Record<Side, RunRatios>>[]): RowComparison[] {
  const measures = [...new Set(rounds.flatMap((r) => [...(r.before?.keys() ?? []), ...(r.after?.keys() ?? [])]))];
  return measures.map((measure) => {
    const pick = (side: Side) => rounds.map((r) => r[side]?.get(measure)).filter((v): v is number => v !== undefined);
    const changes = rounds.flatMap((r) => {
      const before = r.before?.get(measure);
      const after = r.after?.get(measure);
      return before === undefined || after === undefined ? [] : [after - before];
    });
    return { bench, measure, before: pick('before'), after: pick('after'), changes };
  });
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN);
const signed = (n: number) => `${n > 0 ? '+' : ''}${round(n)}`;
const list = (values: number[]) => (values.length ? values.map((v) => round(v)).join(', ') : 'no run');

/** A markdown table: each side's runs and mean, the mean paired change and its range. */
export function comparisonTable(rows: RowComparison[]): string {
  const lines = ['| benchmark | measure | before: runs (mean) | after: runs (mean) | change, points: mean (range) |', '| --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    const change = row.changes.length ? `${signed(mean(row.changes))} (${signed(Math.min(...row.changes))} … ${signed(Math.max(...row.changes))})` : 'no pair';
    const side = (values: number[]) => `${list(values)}${values.length ? ` (${round(mean(values))})` : ''}`;
    lines.push(`| ${row.bench} | ${row.measure} | ${side(row.before)} | ${side(row.after)} | ${change} |`);
  }
  return lines.join('\n');
}

export function meanChange(row: RowComparison): number {
  return mean(row.changes);
}
