/**
 * `npm run bench [-- <name> …]`: runs the benchmarks (all by default), each in its own process,
 * and collects their markdown into bench-results/summary.md.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resultsDir } from './bench-kit.js';

const benches = ['router-reads', 'http-leads', 'migrate-fleet', 'transfer', 'tenant-move'] as const;
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const selected = names.length ? names : benches;
let failed = false;
for (const name of selected) {
  if (!benches.includes(name as (typeof benches)[number])) {
    console.error(`unknown benchmark ${name}; known: ${benches.join(', ')}`);
    process.exit(64);
  }
  const run = spawnSync(process.execPath, ['--import=tsx', `scripts/bench/${name}.ts`, ...flags], { stdio: 'inherit' });
  failed ||= run.status !== 0;
}
const parts = await Promise.all(selected.map((n) => readFile(join(resultsDir, `${n}.md`), 'utf8').catch(() => `## ${n}\n\n(failed)\n`)));
await writeFile(join(resultsDir, 'summary.md'), `# Strata benchmarks\n\n${parts.join('\n')}`);
process.exit(failed ? 1 : 0);
