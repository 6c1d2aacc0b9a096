/**
 * The fault suite: online moves and migrations under HTTP writers, with the move runner killed at
 * every phase, its sessions terminated, a second PostgreSQL stopped and started, and
 * `migrate apply --waves` killed mid-run (test/faults/fault-trials.ts).
 *   DATABASE_URL=postgres://… npm run fault-suite [-- --quick] [--out results.json]
 * One JSON line per trial, then a summary; exits 1 if any trial lost, resurrected, duplicated or
 * changed a row, left its tenant unserved, or failed to run.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fullSuite, quickSlice, startFaultBench, type TrialResult } from '../test/faults/fault-trials.js';
import { testSecrets } from '../test/support/test-secrets.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: 'fault-suite-results.json' } } });
if (!process.env.DATABASE_URL) {
  console.error('DATABASE_URL must name a PostgreSQL superuser (the suite makes its own installation and drops it)');
  process.exit(64);
}

// Its own throwaway installation runs on the tests' secrets, as `npm test` does.
Object.assign(process.env, testSecrets);
const teardowns: (() => unknown)[] = [];
const began = Date.now();
const results: TrialResult[] = [];
try {
  const bench = await startFaultBench({ teardown: (fn: () => unknown) => void teardowns.push(fn) });
  const trials = values.quick ? quickSlice() : fullSuite();
  for (const [i, trial] of trials.entries()) {
    const result = await bench.run(trial, i);
    results.push(result);
    console.log(JSON.stringify({ n: i + 1, of: trials.length, ...result }));
  }
} finally {
  for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch((err: Error) => console.error(`teardown: ${err.message}`));
}
const sum = (key: 'acknowledged' | 'lost' | 'resurrected' | 'duplicated' | 'wrong') => results.reduce((n, r) => n + r[key], 0);
const failed = results.filter((r) => r.error || !r.served || r.lost || r.resurrected || r.duplicated || r.wrong);
const summary = {
  trials: results.length,
  failed: failed.length,
  acknowledgedWrites: sum('acknowledged'),
  lost: sum('lost'),
  resurrected: sum('resurrected'),
  duplicated: sum('duplicated'),
  wrong: sum('wrong'),
  unserved: results.filter((r) => !r.served).length,
  durationS: Math.round((Date.now() - began) / 1000),
};
await writeFile(values.out, `${JSON.stringify({ summary, results }, null, 2)}\n`);
console.log(JSON.stringify({ summary }));
console.error(
  `${summary.trials} trials, ${summary.acknowledgedWrites} acknowledged writes: ${summary.lost} lost, ${summary.resurrected} resurrected, ${summary.duplicated} duplicated, ${summary.wrong} wrong, ${summary.unserved} unserved, ${summary.failed} failed (${summary.durationS} s; results in ${values.out})`,
);
process.exit(failed.length ? 1 : 0);
