/**
 * A private PgBouncer (Debian package `pgbouncer`) in transaction mode on a free loopback port, in
 * front of one PostgreSQL server, with its own ini and userlist in a temporary folder; stopped and
 * removed at test end. The ini is infra/pgbouncer.ini with addresses, paths and pool size replaced,
 * so the deployed configuration is the tested one.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Test } from 'tap';
import { freePort } from '../../src/platform/throwaway-postgres.js';

export interface PgBouncer {
  host: string;
  port: number;
  /** Runs a command of PgBouncer's admin console (e.g. `SHOW STATS`) as `adminUser`. */
  admin(command: string): Promise<Record<string, unknown>[]>;
}

export interface PgBouncerOptions {
  /** The server it forwards every database to. */
  server: { host: string; port: number };
  /** Roles that may log in, with their passwords (also used to log in to the server). */
  users: { name: string; password: string }[];
  /** One of `users`, allowed to read the admin console. */
  adminUser: string;
}

const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;

const infraIni = fileURLToPath(new URL('../../infra/pgbouncer.ini', import.meta.url));

/** infra/pgbouncer.ini with every database sent to `server` and the given [pgbouncer] settings replaced or added. */
async function configFrom(path: string, { server, settings }: { server: { host: string; port: number }; settings: Record<string, string> }) {
  const pending = new Map(Object.entries(settings));
  const out: string[] = [];
  let section = '';
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const header = /^\[(\w+)\]/.exec(line);
    if (header) section = header[1]!;
    const key = /^\s*([\w*]+)\s*=/.exec(line)?.[1];
    if (section === 'databases' && key) {
      out.push(`* = host=${server.host} port=${server.port}`);
    } else if (section === 'pgbouncer' && key && pending.has(key)) {
      out.push(`${key} = ${pending.get(key)}`);
      pending.delete(key);
    } else {
      out.push(line);
    }
  }
  for (const [key, value] of pending) out.push(`${key} = ${value}`);
  return `${out.join('\n')}\n`;
}

export async function startPgBouncer(t: Test, options: PgBouncerOptions): Promise<PgBouncer> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-pgbouncer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  await writeFile(join(dir, 'userlist.txt'), options.users.map((u) => `${quote(u.name)} ${quote(u.password)}\n`).join(''));
  await writeFile(
    ini,
    await configFrom(infraIni, {
      server: options.server,
      settings: {
        listen_addr: '127.0.0.1',
        listen_port: String(port),
        auth_file: join(dir, 'userlist.txt'),
        admin_users: options.adminUser,
        // Fewer server connections than the router's client connections: each one serves many clients.
        default_pool_size: '4',
      },
    }),
  );
  // PgBouncer refuses to run as root; it then drops to an unprivileged user, who must read the folder.
  const asRoot = userInfo().uid === 0;
  if (asRoot) await chmod(dir, 0o755);
  const user = asRoot ? (spawnSync('id', ['postgres'], { stdio: 'ignore' }).status === 0 ? 'postgres' : 'nobody') : undefined;
  const child: ChildProcess = spawn('pgbouncer', [...(user ? ['-u', user] : []), ini], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  // tap runs a file's teardowns once its event loop is idle: a referenced child would keep it busy forever.
  child.unref();
  (child.stderr as unknown as { unref(): void }).unref();
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.ref(); // its exit must be awaited even in a teardown, when nothing else keeps the process up
      child.kill('SIGTERM');
      await exited;
    }
  });

  const admin = async (command: string) => {
    const { name, password } = options.users.find((u) => u.name === options.adminUser)!;
    const client = new pg.Client({ host: '127.0.0.1', port, database: 'pgbouncer', user: name, password });
    await client.connect();
    try {
      return (await client.query(command)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited at start: ${log}`);
    try {
      await admin('SHOW VERSION');
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`pgbouncer did not answer on port ${port}: ${log}`, { cause: err });
      await sleep(50);
    }
  }
  return { host: '127.0.0.1', port, admin };
}
