/**
 * A slice of the fault suite (`npm run fault-suite` runs every trial): a `migrate apply --waves`
 * killed mid-run, then a move whose runner's sessions are terminated (its tenant provisioned after
 * that migration), each under an HTTP writer. Every acknowledged write must be there exactly once,
 * as written, and the tenant served again.
 */
import t from 'tap';
import { quickSlice, startFaultBench } from './fault-trials.js';

const bench = await startFaultBench(t);
for (const [i, trial] of quickSlice().entries()) {
  t.test(`fault trial ${i + 1}`, async (t) => {
    const result = await bench.run(trial, i);
    t.equal(result.error, undefined, `${result.trial}: ${result.outcome}`);
    t.ok(result.acknowledged > 0, `${result.acknowledged} acknowledged writes`);
    t.match(result, { lost: 0, resurrected: 0, duplicated: 0, wrong: 0, served: true }, 'nothing lost, resurrected, duplicated or wrong; served again');
  });
}
