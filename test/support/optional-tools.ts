/**
 * What some tests need beyond Node and npm. Without it a test is skipped with one line saying how
 * to run it (`npm test` repeats that line at the end); under CI=true its absence is a failure, so
 * CI cannot go green by skipping.
 */
import { spawnSync } from 'node:child_process';

interface OptionalTool {
  available: () => boolean;
  /** Why the test is skipped and how to run it, in one line. */
  missing: string;
}

const runs = (command: string) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;

export const optionalTools = {
  pgbouncer: {
    available: () => runs('pgbouncer'),
    missing: 'needs pgbouncer on PATH (apt-get install pgbouncer; .ci/run installs it)',
  },
  redisServer: {
    available: () => runs('redis-server'),
    missing: 'needs redis-server on PATH (apt-get install redis-server)',
  },
  chromium: {
    available: () => runs('chromium'),
    missing: 'needs chromium on PATH for the console tests (apt-get install chromium; .ci/run installs it)',
  },
  redis: {
    available: () => Boolean(process.env.REDIS_URL),
    missing: 'needs a Redis: REDIS_URL=redis://127.0.0.1:6379 npm test',
  },
} satisfies Record<string, OptionalTool>;

/** For tap's `skip` option: false when `tool` is there, else the reason; throws under CI=true. */
export function skipWithout(tool: OptionalTool): false | string {
  if (tool.available()) return false;
  if (process.env.CI === 'true') throw new Error(`${tool.missing}: required under CI`);
  return tool.missing;
}
