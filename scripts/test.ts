/**
 * `npm test`: runs the tap suite against the PostgreSQL named by DATABASE_URL, or, when none is
 * configured, against an embedded one started for the run. Ends with `N passed, N failed`.
 * Every test installation's databases carry the run's prefix and are dropped once, at the end
 * (test/support/installations.ts says why).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { testSecrets } from '../test/support/test-secrets.js';
import { dropInstallation } from '../src/platform/drop-installation.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';

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

const tap = spawn('node_modules/.bin/tap', ['--reporter=tap', ...process.argv.slice(2)], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
// tap's closing line, e.g. `# { total: 42, pass: 40, fail: 1, skip: 1 }`, and each skip's reason
// (a missing optional tool, and how to run those tests), repeated at the end where it is seen.
let summary: Record<string, number> | undefined;
const skipped = new Set<string>();
createInterface({ input: tap.stdout }).on('line', (line) => {
  console.log(line);
  const total = /^# \{ (total: .*) \}$/.exec(line);
  if (total)
    summary = Object.fromEntries(
      total[1]!
        .split(', ')
        .map((kv) => kv.split(': '))
        .map(([k, v]) => [k, Number(v)]),
    );
  const skip = /# SKIP (.+)$/.exec(line);
  if (skip) skipped.add(skip[1]!);
});
const code: number = await new Promise((resolve) => tap.on('close', (c) => resolve(c ?? 1)));
const dropping = performance.now();
// A failed cleanup leaves databases behind, but must not hide the run's result line.
await dropInstallation(env.DATABASE_URL, run, { concurrency: 4 }).then(
  (dropped) => console.log(`# dropped the run's ${dropped} test databases in ${((performance.now() - dropping) / 1000).toFixed(1)} s`),
  (err: unknown) => console.log(`# could not drop the run's test databases (${run}_*): ${(err as Error).message}`),
);
await embedded?.stop();
const passed = summary?.pass ?? 0;
// No summary means tap itself failed: count that as a failure rather than report a clean run.
const failed = summary ? (summary.fail ?? 0) : 1;
for (const reason of skipped) console.log(`skipped: ${reason}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
