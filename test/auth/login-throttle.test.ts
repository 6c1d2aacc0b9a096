/**
 * Regression: POST /auth/login and POST /admin/auth/login let anyone guess passwords at full
 * speed. Two API instances share their counters through Redis; every request is real HTTP from a
 * client address named by a trusted proxy's X-Forwarded-For.
 */
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Platform } from '../../src/platform/platform.js';
import { provision, startTestPlatform, userWithToken } from '../helper.js';
import { optionalTools, skipWithout } from '../support/optional-tools.js';
import { testSecrets } from '../support/test-secrets.js';

const limits = {
  STRATA_TRUSTED_PROXIES: '127.0.0.1',
  STRATA_SPARE_SCHEMAS: '0',
  STRATA_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS: '3',
  STRATA_LOGIN_FAILURES_PER_ADDRESS: '8',
  STRATA_LOGIN_FAILURES_PER_ACCOUNT: '6',
  STRATA_LOGIN_LOCK_SECONDS: '600',
};

async function instance(t: Test, platform: Platform, redisUrl: string | undefined) {
  const app = await buildApp({ config: { ...platform.config, redisUrl }, platform });
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return (from: string, path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'x-forwarded-for': from, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

let address = 0;
const newAddress = () => `198.51.100.${++address}`;

async function throttled(t: Test, res: Response) {
  t.equal(res.status, 429, 'answers 429');
  t.match(await res.json(), { code: 'STRATA_AUTH_THROTTLED', status: 429 });
  const retryAfter = Number(res.headers.get('retry-after'));
  t.ok(retryAfter >= 1 && retryAfter <= 600, `Retry-After ${retryAfter}`);
}

t.test('regression: logins could be brute-forced (two instances sharing Redis)', { skip: skipWithout(optionalTools.redis) }, async (t) => {
  const platform = await startTestPlatform(t, limits);
  const [one, two] = [await instance(t, platform, process.env.REDIS_URL), await instance(t, platform, process.env.REDIS_URL)];
  const either = (i: number) => (i % 2 ? one : two);
  const tenant = await provision(platform, 'pooled', 'victim');
  const victim = await userWithToken(platform, tenant, 'owner');
  const guess = { email: victim.email, password: 'wrong password' };
  const right = { email: victim.email, password: victim.password };

  await t.test('one address guessing one account: locked after 3 wrong passwords, on both instances at once', async (t) => {
    const attacker = newAddress();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => either(i)(attacker, '/auth/login', guess)));
    t.equal(answers.filter((r) => r.status === 401).length, 3, 'exactly 3 of 12 simultaneous guesses are checked');
    await throttled(
      t,
      answers.find((r) => r.status === 429)!,
    );
    await throttled(t, await one(attacker, '/auth/login', right));
    t.equal((await two(newAddress(), '/auth/login', right)).status, 200, 'the victim, from another address, still logs in');
  });

  await t.test('a successful login clears its account-and-address count', async (t) => {
    const user = await userWithToken(platform, tenant, 'staff');
    const guess = { email: user.email, password: 'wrong password' };
    const right = { email: user.email, password: user.password };
    const owner = newAddress();
    for (let i = 0; i < 2; i++) t.equal((await either(i)(owner, '/auth/login', guess)).status, 401);
    t.equal((await one(owner, '/auth/login', right)).status, 200);
    for (let i = 0; i < 3; i++) t.equal((await either(i)(owner, '/auth/login', guess)).status, 401, `typo ${i + 1} after the login is checked`);
    await throttled(t, await two(owner, '/auth/login', guess));
  });

  await t.test('one address guessing many accounts is locked for all of them', async (t) => {
    const sprayer = newAddress();
    const accounts = Array.from({ length: 10 }, () => `nobody-${randomBytes(3).toString('hex')}@example.com`);
    const answers = await Promise.all(accounts.map((email, i) => either(i)(sprayer, '/auth/login', { email, password: 'x' })));
    t.equal(answers.filter((r) => r.status === 401).length, 8, 'the address gets 8 guesses in all');
    await throttled(t, await one(sprayer, '/auth/login', { email: `fresh-${randomBytes(3).toString('hex')}@example.com`, password: 'x' }));
  });

  await t.test('many addresses guessing one account slow it down, never lock its owner out', async (t) => {
    const target = await userWithToken(platform, tenant, 'staff');
    const wrong = { email: target.email, password: 'wrong' };
    // 6 guesses from 6 addresses spend the account's count; later addresses get one try a minute.
    for (let i = 0; i < 6; i++) t.equal((await either(i)(newAddress(), '/auth/login', wrong)).status, 401);
    const late = newAddress();
    t.equal((await one(late, '/auth/login', wrong)).status, 401, 'a new address gets its one try');
    await throttled(t, await two(late, '/auth/login', wrong));
    const home = newAddress();
    t.equal((await two(home, '/auth/login', { email: target.email, password: target.password })).status, 200, 'the owner logs in from an address of theirs');
  });

  await t.test('platform admins: the same protection', async (t) => {
    const attacker = newAddress();
    const adminGuess = { email: 'admin@strata.local', password: 'wrong password!' };
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => either(i)(attacker, '/admin/auth/login', adminGuess)));
    t.equal(answers.filter((r) => r.status === 401).length, 3);
    await throttled(
      t,
      answers.find((r) => r.status === 429)!,
    );
    const admin = { email: 'admin@strata.local', password: testSecrets.STRATA_ADMIN_PASSWORD };
    await throttled(t, await one(attacker, '/admin/auth/login', admin));
    t.equal((await two(newAddress(), '/admin/auth/login', admin)).status, 200, 'the admin logs in from elsewhere');
  });
});

t.test('without Redis each instance counts in memory', async (t) => {
  const platform = await startTestPlatform(t, limits);
  const local = await instance(t, platform, undefined);
  const tenant = await provision(platform, 'pooled', 'local');
  const user = await userWithToken(platform, tenant, 'owner');
  const from = newAddress();
  const answers = await Promise.all(Array.from({ length: 6 }, () => local(from, '/auth/login', { email: user.email, password: 'nope' })));
  t.equal(answers.filter((r) => r.status === 401).length, 3);
  await throttled(
    t,
    answers.find((r) => r.status === 429)!,
  );
});
