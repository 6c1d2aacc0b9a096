import { spawnSync } from 'node:child_process';
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, secretKeys } from '../../src/config/config.js';
import { testSecrets } from '../support/test-secrets.js';

/** Secrets of one's own, as the development start generates them. */
const own = {
  JWT_SECRET: 'x'.repeat(40),
  STRATA_OWNER_PASSWORD: 'own-owner-password',
  STRATA_RUNTIME_PASSWORD: 'own-runtime-password',
  STRATA_ADMIN_PASSWORD: 'own-admin-password',
  STRATA_EMBEDDED_PASSWORD: 'own-embedded-password',
};

t.test('defaults give a working development configuration', async (t) => {
  const config = loadConfig(own);
  t.equal(config.database.url, undefined, 'no URL: the embedded database is used');
  t.equal(config.http.port, 3000);
  t.equal(config.database.prefix, 'strata');
  t.equal(config.autopilot.enabled, false, 'the autopilot is off unless asked for');
  t.same(config.autopilot.hours, { from: 2, to: 5 });
  t.equal(config.advice.thresholds.maxStorageBytes.pooled, 100 * 1024 ** 2, 'storage thresholds are given in MiB');
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
    [{ STRATA_ADVICE_DB_TIME_SHARE: '1.5' }, 'STRATA_ADVICE_DB_TIME_SHARE'],
    [{ STRATA_AUTOPILOT: 'maybe' }, 'STRATA_AUTOPILOT'],
    [{ STRATA_AUTOPILOT_HOURS: '5-5' }, 'STRATA_AUTOPILOT_HOURS'],
    [{ STRATA_AUTOPILOT_HOURS: '24-3' }, 'STRATA_AUTOPILOT_HOURS'],
  ];
  for (const [env, key] of cases) {
    const err = t.throws(() => loadConfig({ ...own, ...env })) as unknown as ConfigError;
    t.ok(err instanceof ConfigError, `${key}: a ConfigError`);
    t.same(
      err.issues.map((i) => i.key),
      [key],
      `${key}: only that key is blamed`,
    );
    t.match(err.message, new RegExp(`${key}: .+`));
  }
});

t.test('the connection wait is read under its name, or under the name it had when it bounded transactions only', async (t) => {
  t.equal(loadConfig(own).router.connectionWaitMs, 10_000);
  t.equal(loadConfig({ ...own, STRATA_CONNECTION_WAIT_MS: '250' }).router.connectionWaitMs, 250);
  t.equal(loadConfig({ ...own, STRATA_TRANSACTION_WAIT_MS: '300' }).router.connectionWaitMs, 300);
  t.equal(loadConfig({ ...own, STRATA_CONNECTION_WAIT_MS: '250', STRATA_TRANSACTION_WAIT_MS: '300' }).router.connectionWaitMs, 250);
});

t.test('production needs every secret and a database server', async (t) => {
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production' })) as unknown as ConfigError;
  t.same(err.issues.map((i) => i.key).sort(), [
    'DATABASE_URL',
    'JWT_SECRET',
    'STRATA_ADMIN_PASSWORD',
    'STRATA_EMBEDDED_PASSWORD',
    'STRATA_OWNER_PASSWORD',
    'STRATA_RUNTIME_PASSWORD',
  ]);
  const { STRATA_EMBEDDED_PASSWORD: _, ...served } = own;
  t.ok(loadConfig({ ...served, NODE_ENV: 'production', DATABASE_URL: 'postgres://strata@db/postgres' }), 'with a server, no embedded password is needed');
});

/** `KEY: value` or `KEY=value` for each secret, in every committed file outside the tests. */
function secretsWrittenInTheRepository() {
  const files = execFileSync('git', ['ls-files'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !f.startsWith('test/'));
  const found: [string, string, string][] = [];
  const pattern = new RegExp(`\\b(${secretKeys.join('|')})['"]?[ \\t]*[:=][ \\t]*(['"\`]?)([^'"\\s,}]+)`, 'g');
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const code = /\.[cm]?[jt]sx?$/.test(file);
    for (const [, key, quote, value] of text.matchAll(pattern)) {
      // In code an unquoted value is an expression computed at run time; elsewhere, references.
      if ((code && !quote) || /^[$<=]|^(z|env|source|process|stored|fresh|randomBytes)\b/.test(value!)) continue;
      found.push([file, key!, value!]);
    }
  }
  const compose = readFileSync('infra/compose.yaml', 'utf8');
  for (const [, value] of compose.matchAll(/postgres:\/\/\w+:([^@$]+)@/g)) found.push(['infra/compose.yaml', 'STRATA_OWNER_PASSWORD', value!]);
  return found;
}

t.test('regression: every secret value written in the repository is refused outside tests, naming its key', async (t) => {
  const written = [
    ...secretsWrittenInTheRepository(),
    ...Object.entries(testSecrets)
      .filter(([k]) => k !== 'NODE_ENV')
      .map(([k, v]) => ['test/support/test-secrets.ts', k, v]),
  ];
  t.ok(written.length >= 5, `found ${written.length} written values`);
  for (const [file, key, value] of written) {
    for (const NODE_ENV of ['production', 'development']) {
      // The embedded server's password matters only without a DATABASE_URL.
      const server = key === 'STRATA_EMBEDDED_PASSWORD' ? {} : { DATABASE_URL: 'postgres://strata@db/postgres' };
      const err = t.throws(
        () => loadConfig({ ...own, ...server, NODE_ENV, [key!]: value }),
        `${key}=${value} (${file}) is refused in ${NODE_ENV}`,
      ) as unknown as ConfigError;
      t.same(
        err.issues.map((i) => i.key).filter((k) => k !== 'DATABASE_URL'),
        [key],
        'that key is blamed',
      );
      t.match(err.message, new RegExp(`${key}: is a value published`));
    }
  }
  t.ok(loadConfig({ ...testSecrets }), 'tests may use the values they set for themselves');
});

t.test('the server refuses to boot on bad config, with a clear message and no stack', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = spawnSync(process.execPath, ['--import=tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH, PORT: 'not-a-port', JWT_SECRET: 'too-short', STRATA_SECRETS_FILE: join(dir, 'secrets.json') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(run.status, 78, 'exits with EX_CONFIG');
  t.match(run.stderr, /Invalid configuration/);
  t.match(run.stderr, /PORT: /);
  t.match(run.stderr, /JWT_SECRET: must be at least 32 characters/);
  t.notMatch(run.stderr, /at .*\.ts:\d+/, 'no stack trace');
});
