/**
 * Regression: the development secrets written in the source opened the admin API and signed
 * tenant tokens on every zero-configuration installation. Drives the real server and scripts as
 * child processes on a fresh folder, with no secret in their environment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg, { escapeIdentifier } from 'pg';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { signAdminToken } from '../../src/admin/admin-tokens.js';
import { signAccessToken } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config/config.js';
import { dropInstallation } from '../../src/platform/drop-installation.js';
import { startEmbeddedPostgres } from '../../src/platform/embedded-postgres.js';
import { bootstrapServer } from '../../src/servers/bootstrap-server.js';
import { adminUrl } from '../helper.js';
import { freePort } from '../../src/platform/throwaway-postgres.js';
import { testSecrets } from '../support/test-secrets.js';

const root = resolve('.');
const tsx = join(root, 'node_modules/.bin/tsx');
const published = testSecrets; // the old development defaults, still what tests use

interface Started {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

/** `tsx src/server.ts` in `cwd`, resolved once it listens. */
async function startServer(t: Test, cwd: string, env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const child = spawn(tsx, [join(root, 'src/server.ts')], { cwd, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  t.teardown(stop);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Server listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${err}\n${out}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, stderr: () => err };
}

async function stopServer(server: Started) {
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  await exited;
}

/** Runs an operator script (`npm run <name>`'s file) in `cwd`; resolves its stdout. */
async function script(cwd: string, env: Record<string, string>, file: string, args: string[]): Promise<string> {
  const child = spawn(tsx, [join(root, 'scripts', file), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`${file} exited ${code}: ${err}`);
  return out.trim();
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const get = (url: string, token: string) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

/** An environment with no secret at all, as after `git clone`: a private folder, roles and databases. */
function freshInstallation(t: Test, server: 'shared' | 'embedded') {
  const cwd = mkdtempSync(join(tmpdir(), 'strata-install-'));
  // As a checkout is: run as root, the embedded server runs as a system user that must reach its folder.
  chmodSync(cwd, 0o755);
  const id = randomBytes(3).toString('hex');
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    HOME: process.env.HOME ?? cwd,
    LOG_LEVEL: 'info',
    STRATA_SPARE_SCHEMAS: '0',
    STRATA_DB_PREFIX: `s_${id}`,
    // Roles of their own: the shared server's usual roles carry every other test run's traffic.
    STRATA_OWNER_ROLE: `s_${id}_owner`,
    STRATA_RUNTIME_ROLE: `s_${id}_app`,
  };
  if (server === 'shared') env.DATABASE_URL = adminUrl();
  t.teardown(async () => {
    if (server === 'shared') {
      await dropInstallation(adminUrl(), env.STRATA_DB_PREFIX!);
      const admin = new pg.Client({ connectionString: adminUrl() });
      await admin.connect();
      for (const role of [env.STRATA_OWNER_ROLE!, env.STRATA_RUNTIME_ROLE!])
        await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`).catch(() => undefined);
      await admin.end();
    }
    rmSync(cwd, { recursive: true, force: true });
  });
  return { cwd, env };
}

const shownPassword = (stderr: string) => /Bootstrap admin: admin@strata\.local {2}password: (\S+)/.exec(stderr)?.[1];

t.test('regression: published development secrets opened the admin API and signed tenant tokens', async (t) => {
  const { cwd, env } = freshInstallation(t, 'shared');
  const first = await startServer(t, cwd, env);

  const password = shownPassword(first.stderr());
  t.ok(password, 'the first start shows the bootstrap admin password');
  t.not(password, published.STRATA_ADMIN_PASSWORD);
  const secretsFile = join(cwd, '.strata/secrets/secrets.json');
  t.equal(statSync(secretsFile).mode & 0o777, 0o600, 'the secrets file is readable by its owner only');
  t.equal(statSync(join(cwd, '.strata/secrets')).mode & 0o777, 0o700, 'in a private folder');
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>;
  t.equal(secrets.STRATA_ADMIN_PASSWORD, password);
  for (const [key, value] of Object.entries(published)) t.not(secrets[key], value, `${key} is not the published one`);

  const login = await post(`${first.url}/admin/auth/login`, { email: 'admin@strata.local', password });
  t.equal(login.status, 200, 'the shown password opens the admin API');
  const adminToken = ((await login.json()) as { accessToken: string }).accessToken;
  t.equal((await get(`${first.url}/admin/audit`, adminToken)).status, 200);
  const old = await post(`${first.url}/admin/auth/login`, { email: 'admin@strata.local', password: published.STRATA_ADMIN_PASSWORD });
  t.equal(old.status, 401, 'the password written in the source does not');

  // The scripts read the same secrets: a tenant they provision and a token they mint work here.
  await script(cwd, env, 'provision-tenant.ts', ['--slug', 'acme', '--name', 'Acme', '--plan', 'free', '--tier', 'pooled']);
  const minted = await script(cwd, env, 'mint-token.ts', ['--tenant', 'acme', '--role', 'owner']);
  t.equal((await get(`${first.url}/leads`, minted)).status, 200, 'a token from `npm run token` is accepted');
  t.equal((await get(`${first.url}/leads`, minted.slice(0, -2) + 'xx')).status, 401);

  // Tokens signed with the secret written in the source, with the very claims of a good one.
  const claims = JSON.parse(Buffer.from(minted.split('.')[1]!, 'base64url').toString()) as { sub: string; tid: string };
  const publishedJwt = loadConfig({ ...testSecrets, DATABASE_URL: adminUrl() }).jwt;
  const forged = signAccessToken(publishedJwt, { sub: claims.sub, tid: claims.tid, role: 'owner' });
  t.equal((await get(`${first.url}/leads`, forged)).status, 401, 'a tenant token signed with the published secret is refused');
  const forgedAdmin = signAdminToken(publishedJwt, { id: randomUUID(), email: 'admin@strata.local' });
  t.equal((await get(`${first.url}/admin/audit`, forgedAdmin)).status, 401, 'so is an admin token');
  await stopServer(first);

  const second = await startServer(t, cwd, env);
  t.equal(shownPassword(second.stderr()), undefined, 'the second start shows no password');
  t.notMatch(second.stderr(), password!, 'nor the password anywhere');
  t.same(JSON.parse(readFileSync(secretsFile, 'utf8')), secrets, 'and reuses the same secrets');
  t.equal((await post(`${second.url}/admin/auth/login`, { email: 'admin@strata.local', password })).status, 200);
  t.equal((await get(`${second.url}/leads`, minted)).status, 200, 'tokens outlive a restart');
  await stopServer(second);
});

t.test('an installation whose embedded PostgreSQL has the published password gets its own on start', async (t) => {
  const { cwd, env } = freshInstallation(t, 'embedded');
  const port = await freePort();
  const dir = join(cwd, '.strata/postgres');
  // As an earlier version left it: initialised with the password that was written in the source.
  const earlier = await startEmbeddedPostgres({ dir, port, password: published.STRATA_EMBEDDED_PASSWORD, log: pino({ level: 'silent' }) });
  await bootstrapServer({
    adminUrl: earlier.url,
    owner: { role: env.STRATA_OWNER_ROLE!, password: published.STRATA_OWNER_PASSWORD },
    runtime: { role: env.STRATA_RUNTIME_ROLE!, password: published.STRATA_RUNTIME_PASSWORD },
    databases: [{ name: `${env.STRATA_DB_PREFIX}_tenants`, runtimeConnects: true }],
  });
  await earlier.stop();

  const server = await startServer(t, cwd, { ...env, STRATA_EMBEDDED_PORT: String(port) });
  const password = shownPassword(server.stderr());
  t.equal((await post(`${server.url}/admin/auth/login`, { email: 'admin@strata.local', password })).status, 200, 'it boots and serves');
  const attempt = new pg.Client({ connectionString: `postgres://postgres:${published.STRATA_EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres` });
  await t.rejects(attempt.connect(), { code: '28P01' }, 'the published superuser password no longer opens it');
  for (const [role, key] of [
    [env.STRATA_OWNER_ROLE!, 'STRATA_OWNER_PASSWORD'],
    [env.STRATA_RUNTIME_ROLE!, 'STRATA_RUNTIME_PASSWORD'],
  ] as const) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: role, password: published[key], database: `${env.STRATA_DB_PREFIX}_tenants` });
    await t.rejects(client.connect(), { code: '28P01' }, `${role} refuses the published ${key}`);
  }
  await stopServer(server);
  // The server above stopped its embedded PostgreSQL with it.
});

t.test('production with a published placeholder refuses to boot, naming the key', async (t) => {
  const { cwd } = freshInstallation(t, 'embedded');
  const child = spawn(tsx, [join(root, 'src/server.ts')], {
    cwd,
    env: {
      PATH: process.env.PATH!,
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://strata@127.0.0.1:1/postgres',
      JWT_SECRET: 'change-me-to-a-long-random-secret-of-32-chars',
      STRATA_OWNER_PASSWORD: randomBytes(16).toString('hex'),
      STRATA_RUNTIME_PASSWORD: randomBytes(16).toString('hex'),
      STRATA_ADMIN_PASSWORD: randomBytes(16).toString('hex'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  t.equal(code, 78, 'exits with EX_CONFIG');
  t.match(err, /JWT_SECRET: is a value published in Strata’s repository/);
  t.notMatch(err, /STRATA_(OWNER|RUNTIME|ADMIN)_PASSWORD/, 'only that key is blamed');
  t.throws(() => statSync(join(cwd, '.strata')), 'production generates no secrets file');
});
