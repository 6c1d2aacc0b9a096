/**
 * `npm run bench [-- <name> …] [--flag value …]`: runs the benchmarks (all by default), each in
 * its own process on its own throwaway installation, then prints one summary table (every row of
 * every benchmark that states a target) and writes bench-results/summary.md and summary.json.
 *
 * Run all together, the larger benchmarks use smaller defaults so the whole run fits in about ten
 * minutes on a small machine (`allInOne` below); run alone, each uses its full-size defaults (the
 * issue's figures). Flags given here go to every selected benchmark and win over both.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resultsDir, round, splitArguments } from './bench-kit.js';

const benches = [
  'router-reads',
  'http-leads',
  'rls-cost',
  'router-scale',
  'migrate-fleet',
  'transfer',
  'tenant-move',
  'fan-out',
  'noisy-neighbour',
  'console-load',
  'scale-out',
] as const;
type Bench = (typeof benches)[number];

/** Sizes for the all-in-one run (full size: run the benchmark alone, e.g. `npm run bench -- router-scale`). */
const allInOne: Partial<Record<Bench, string[]>> = {
  'http-leads': ['--seconds', '6'],
  'router-scale': ['--tenants', '500'],
  'migrate-fleet': ['--schemas', '500'],
  transfer: ['--leads', '30000'],
  'tenant-move': ['--rows', '60000'],
  'fan-out': ['--tenants', '300'],
  'noisy-neighbour': ['--seconds', '5'],
  'scale-out': ['--tenants', '90'],
};

const { names, flags } = splitArguments(process.argv.slice(2));
const unknown = names.filter((n) => !benches.includes(n as Bench));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${benches.join(', ')}`);
  process.exit(64);
}
const selected = (names.length ? names : benches) as Bench[];
const defaults = (name: Bench) => (selected.length > 1 ? (allInOne[name] ?? []) : []);

const began = performance.now();
const timings: Record<string, number> = {};
const failed: string[] = [];
for (const name of selected) {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--import=tsx', `scripts/bench/${name}.ts`, ...defaults(name), ...flags], { stdio: 'inherit' });
  timings[name] = (performance.now() - started) / 1000;
  if (run.status !== 0) failed.push(name);
}
const totalSeconds = (performance.now() - began) / 1000;

interface Result {
  title: string;
  rows: Record<string, string | number>[];
}
const results = await Promise.all(
  selected.map(async (name) => ({ name, result: JSON.parse(await readFile(join(resultsDir, `${name}.json`), 'utf8').catch(() => 'null')) as Result | null })),
);

// The summary: the rows that state a target, one line each, whatever the benchmark's own columns.
const lines = ['| benchmark | measure | value | target | met |', '| --- | --- | --- | --- | --- |'];
for (const { name, result } of results) {
  if (!result || failed.includes(name)) {
    lines.push(`| ${name} | (failed) | | | no |`);
    continue;
  }
  for (const row of result.rows) {
    if (!('target' in row) || row.target === '—') continue;
    const measure = row.measure ?? row.query ?? row.run ?? '';
    const value = row.value ?? row.ratio ?? row['RLS / explicit'] ?? (row['strata ms'] === undefined ? '' : `${row['strata ms']} ms, ${row.speedup}`);
    lines.push(`| ${name} | ${measure} | ${value} | ${row.target} | ${row.met ?? ''} |`);
  }
}
const summary = [
  '# Strata benchmarks',
  '',
  `${selected.length} benchmark(s) in ${round(totalSeconds, 0)} s (${Object.entries(timings)
    .map(([n, s]) => `${n} ${round(s, 0)} s`)
    .join(', ')})${failed.length ? `; failed: ${failed.join(', ')}` : ''}.`,
  '',
  ...lines,
  '',
].join('\n');
const parts = await Promise.all(selected.map((n) => readFile(join(resultsDir, `${n}.md`), 'utf8').catch(() => `## ${n}\n\n(failed)\n`)));
await writeFile(join(resultsDir, 'summary.md'), `${summary}\n${parts.join('\n')}`);
await writeFile(join(resultsDir, 'summary.json'), `${JSON.stringify({ at: new Date().toISOString(), totalSeconds, timings, failed, results }, null, 2)}\n`);
console.log(`\n${summary}`);
process.exit(failed.length ? 1 : 0);
