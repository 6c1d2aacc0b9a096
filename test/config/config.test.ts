import { spawnSync } from 'node:child_process';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/config.js';

t.test('defaults give a working development configuration', async (t) => {
  const config = loadConfig({});
  t.equal(config.database.url, undefined, 'no URL: the embedded database is used');
  t.equal(config.http.port, 3000);
  t.equal(config.database.prefix, 'strata');
});

t.test('each bad key is named with a reason', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ STRATA_DB_PREFIX: 'Bad-Prefix' }, 'STRATA_DB_PREFIX'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ REDIS_URL: 'http://localhost' }, 'REDIS_URL'],
    [{ STRATA_POOL_MAX: '0' }, 'STRATA_POOL_MAX'],
  ];
  for (const [env, key] of cases) {
    const err = t.throws(() => loadConfig(env)) as unknown as ConfigError;
    t.ok(err instanceof ConfigError, `${key}: a ConfigError`);
    t.same(err.issues.map((i) => i.key), [key], `${key}: only that key is blamed`);
    t.match(err.message, new RegExp(`${key}: .+`));
  }
});

t.test('the connection wait is read under its name, or under the name it had when it bounded transactions only', async (t) => {
  t.equal(loadConfig({}).router.connectionWaitMs, 10_000);
  t.equal(loadConfig({ STRATA_CONNECTION_WAIT_MS: '250' }).router.connectionWaitMs, 250);
  t.equal(loadConfig({ STRATA_TRANSACTION_WAIT_MS: '300' }).router.connectionWaitMs, 300);
  t.equal(loadConfig({ STRATA_CONNECTION_WAIT_MS: '250', STRATA_TRANSACTION_WAIT_MS: '300' }).router.connectionWaitMs, 250);
});

t.test('production refuses public development secrets and the embedded database', async (t) => {
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production' })) as unknown as ConfigError;
  t.same(err.issues.map((i) => i.key).sort(), ['DATABASE_URL', 'JWT_SECRET', 'STRATA_ADMIN_PASSWORD', 'STRATA_OWNER_PASSWORD', 'STRATA_RUNTIME_PASSWORD']);
});

t.test('the server refuses to boot on bad config, with a clear message and no stack', async (t) => {
  const run = spawnSync(process.execPath, ['--import=tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH, PORT: 'not-a-port', JWT_SECRET: 'too-short' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(run.status, 78, 'exits with EX_CONFIG');
  t.match(run.stderr, /Invalid configuration/);
  t.match(run.stderr, /PORT: /);
  t.match(run.stderr, /JWT_SECRET: must be at least 32 characters/);
  t.notMatch(run.stderr, /at .*\.ts:\d+/, 'no stack trace');
});
