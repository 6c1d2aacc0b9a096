/**
 * The server an attack run attacks when no --url is given: `node dist/server.js` as a process of
 * its own on a free loopback port, in production mode with secrets generated for this run only, on
 * a throwaway installation (its own databases and roles, dropped afterwards) of DATABASE_URL's
 * server, or of the embedded PostgreSQL without one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg, { escapeIdentifier } from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { prepareEnvironment } from '../../src/config/installation-secrets.js';
import { dropInstallation } from '../../src/platform/drop-installation.js';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../src/platform/embedded-postgres.js';
import type { Tier } from '../../src/tenants/placement.js';

export interface TargetServer {
  url: string;
  /** The environment the server runs with (operator scripts against it need the same). */
  env: Record<string, string>;
  admin: { email: string; password: string };
  jwtSecret: string;
  importMaxBytes: number;
  /** Makes a tenant without any data (`npm run provision`, which adds no user) and returns its id. */
  provisionEmpty(slug: string, tier: Tier): Promise<string>;
  /** Its output so far. */
  output(): string;
  stop(): Promise<void>;
}

const importMaxBytes = 8 * 1024 * 1024;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

const secret = () => randomBytes(24).toString('hex');

/** The database server to install on: DATABASE_URL's, or the embedded one (started here if need be). */
async function databaseServer(): Promise<{ url: string; embedded?: EmbeddedServer }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL };
  prepareEnvironment();
  const config = loadConfig(process.env);
  const embedded = await startEmbeddedPostgres({ ...config.database.embedded, log: pino({ level: 'warn' }) });
  return { url: embedded.url, embedded };
}

async function dropRoles(url: string, roles: string[]) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const role of roles) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (!rowCount) continue;
      await client.query(`DROP OWNED BY ${escapeIdentifier(role)}`);
      await client.query(`DROP ROLE ${escapeIdentifier(role)}`);
    }
  } finally {
    await client.end();
  }
}

export async function startTargetServer(): Promise<TargetServer> {
  const database = await databaseServer();
  const prefix = `atk_${randomBytes(3).toString('hex')}`;
  const roles = { owner: `${prefix}_owner`, runtime: `${prefix}_app` };
  const scratch = await mkdtemp(join(tmpdir(), 'strata-attack-'));
  const port = await freePort();
  const admin = { email: 'admin@strata.local', password: secret() };
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DATABASE_URL: database.url,
    STRATA_DB_PREFIX: prefix,
    // Roles of its own: the shared ones' passwords are set at every boot, which would change them
    // under other installations of the same server.
    STRATA_OWNER_ROLE: roles.owner,
    STRATA_RUNTIME_ROLE: roles.runtime,
    STRATA_OWNER_PASSWORD: secret(),
    STRATA_RUNTIME_PASSWORD: secret(),
    JWT_SECRET: secret(),
    STRATA_ADMIN_EMAIL: admin.email,
    STRATA_ADMIN_PASSWORD: admin.password,
    ...(process.env.REDIS_URL && { REDIS_URL: process.env.REDIS_URL }),
    STRATA_PURGE_EXPORT_DIR: join(scratch, 'exports'),
    STRATA_SECRETS_FILE: join(scratch, 'secrets', 'secrets.json'),
    STRATA_IMPORT_MAX_BYTES: String(importMaxBytes),
    STRATA_SPARE_SCHEMAS: '0',
    // The run sends thousands of requests from one address: these budgets would turn its attacks
    // into waits. Throttling is attacked where it applies per tenant, per user and per account.
    STRATA_RATE_LIMIT_ANON_PER_MINUTE: '100000',
    STRATA_RATE_LIMIT_ADMIN_PER_MINUTE: '100000',
    STRATA_LOGIN_FAILURES_PER_ADDRESS: '1000',
  };
  const child: ChildProcess = spawn(process.execPath, ['dist/server.js'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
    await dropInstallation(database.url, prefix);
    await dropRoles(database.url, [roles.owner, roles.runtime]).catch((err: unknown) =>
      console.error(`could not drop the run's roles: ${(err as Error).message}`),
    );
    await rm(scratch, { recursive: true, force: true });
    await database.embedded?.stop();
  };

  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 120_000; ; await sleep(200)) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the server exited (${child.exitCode}) before answering:\n${output}`);
    }
    if (
      (await fetch(`${url}/healthz`).then(
        (res) => res.status,
        () => 0,
      )) === 200
    )
      break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server did not answer /healthz within 120 s:\n${output}`);
    }
  }
  const provisionEmpty = async (slug: string, tier: Tier) => {
    await runProvision(env, slug, tier);
    const token = await adminToken(url, admin);
    const res = await fetch(`${url}/admin/tenants?search=${slug}`, { headers: { authorization: `Bearer ${token}` } });
    return ((await res.json()) as { items: { id: string }[] }).items[0]!.id;
  };
  return { url, env, admin, jwtSecret: env.JWT_SECRET!, importMaxBytes, provisionEmpty, output: () => output, stop };
}

/** `npm run provision` against the server of `env`. */
async function runProvision(env: Record<string, string>, slug: string, tier: Tier) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/provision-tenant.ts', '--slug', slug, '--plan', 'business', '--tier', tier, '--actor', 'attack-run'],
    {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`npm run provision ${slug} exited ${code}: ${stderr}`);
}

async function adminToken(url: string, admin: { email: string; password: string }): Promise<string> {
  const res = await fetch(`${url}/admin/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) });
  return ((await res.json()) as { accessToken: string }).accessToken;
}
