/**
 * `npm test`: runs the tap suite against the PostgreSQL named by DATABASE_URL, or, when none is
 * configured, against an embedded one started for the run. Ends with `N passed, N failed`.
 */
import { spawn } from 'node:child_process';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';

const config = loadConfig({ ...process.env, STRATA_EMBEDDED_DIR: process.env.STRATA_EMBEDDED_DIR ?? '.strata/test-postgres', STRATA_EMBEDDED_PORT: process.env.STRATA_EMBEDDED_PORT ?? '54330' });
const log = pino({ level: 'info' });
const embedded = config.database.url ? undefined : await startEmbeddedPostgres({ ...config.database.embedded, log });
const env = { ...process.env, DATABASE_URL: config.database.url ?? embedded!.url };

const tap = spawn('node_modules/.bin/tap', ['--reporter=tap', ...process.argv.slice(2)], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
// tap's closing line, e.g. `# { total: 42, pass: 40, fail: 1, skip: 1 }`.
let summary: Record<string, number> | undefined;
tap.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  const match = /^# \{ (total: .*) \}$/m.exec(chunk.toString());
  if (match) summary = Object.fromEntries(match[1]!.split(', ').map((kv) => kv.split(': ')).map(([k, v]) => [k, Number(v)]));
});
const code: number = await new Promise((resolve) => tap.on('close', (c) => resolve(c ?? 1)));
await embedded?.stop();
const passed = summary?.pass ?? 0;
// No summary means tap itself failed: count that as a failure rather than report a clean run.
const failed = summary ? (summary.fail ?? 0) : 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
