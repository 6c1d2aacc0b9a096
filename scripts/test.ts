/**
 * `npm test`: runs the tap test files (all under test/, or those named) against the PostgreSQL
 * named by DATABASE_URL, or, when none is configured, against an embedded one started for the run.
 * Ends with `N passed, N failed`; a file that failed in any way counts at least one failure.
 * Every test installation's databases carry the run's prefix and are dropped once, at the end
 * (test/support/installations.ts says why).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { testSecrets } from '../test/support/test-secrets.js';
import { dropInstallation } from '../src/platform/drop-installation.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import { compileCheckout } from './compiled-checkout.js';
import { runTestFiles, testFiles, type Counts } from './run-test-files.js';

// Tests run in test mode with the secrets they set for themselves, never an installation's.
const testEnv = { ...process.env, ...testSecrets };
const config = loadConfig({
  ...testEnv,
  STRATA_EMBEDDED_DIR: process.env.STRATA_EMBEDDED_DIR ?? '.strata/test-postgres',
  STRATA_EMBEDDED_PORT: process.env.STRATA_EMBEDDED_PORT ?? '54330',
});
const log = pino({ level: 'info' });
const embedded = config.database.url ? undefined : await startEmbeddedPostgres({ ...config.database.embedded, log });
const run = `t${randomBytes(3).toString('hex')}`;
const env = { ...testEnv, DATABASE_URL: config.database.url ?? embedded!.url, STRATA_TEST_RUN: run };

const started = performance.now();
const files = await testFiles(process.argv.length > 2 ? process.argv.slice(2) : ['test']);
// Interrupted, the run still exits through 'exit', where the compiled mirror is removed.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(128 + constants.signals[signal]));
const compiled = await compileCheckout(process.cwd(), `.strata/test-build-${run}`);
console.log('TAP version 14');
// Three files at a time: with two, the CPU idled while files waited on timers, child processes and PostgreSQL (454 s → 411 s here).
const results = await runTestFiles(files, { jobs: 3, timeoutSeconds: 180, env, nodeArguments: compiled.nodeArguments });
const sum = (key: keyof Counts) => results.reduce((total, result) => total + result.counts[key], 0);
console.log(`1..${results.length}`);
console.log(`# { total: ${sum('total')}, pass: ${sum('pass')}, fail: ${sum('fail')}, skip: ${sum('skip')} }`);
console.log(`# time=${(performance.now() - started).toFixed(3)}ms`);
const dropping = performance.now();
// A failed cleanup leaves databases behind, but must not hide the run's result line.
await dropInstallation(env.DATABASE_URL, run, { concurrency: 4 }).then(
  (dropped) => console.log(`# dropped the run's ${dropped} test databases in ${((performance.now() - dropping) / 1000).toFixed(1)} s`),
  (err: unknown) => console.log(`# could not drop the run's test databases (${run}_*): ${(err as Error).message}`),
);
await embedded?.stop();
const failed = sum('fail');
// Each failed file's failed assertions, repeated at the end: a CI log is often read from its tail.
for (const result of results.filter((result) => !result.ok)) {
  console.log(`failed: ${result.file}`);
  for (const failure of result.failures) console.log(failure.replace(/^/gm, '  '));
}
// Each skip's reason (a missing optional tool, and how to run those tests), repeated at the end where it is seen.
for (const reason of new Set(results.flatMap((result) => result.skips))) console.log(`skipped: ${reason}`);
console.log(`${sum('pass')} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
