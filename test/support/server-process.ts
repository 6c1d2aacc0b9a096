/**
 * The API as a process of its own (`node dist/server.js` by default), on a free port and a
 * throwaway installation of the test database: for tests of the process itself (boot, shutdown,
 * the built and the packaged output). Its output is kept; it is killed and its databases dropped
 * at test end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { installationPrefix, releaseInstallation } from './installations.js';
import { adminUrl } from '../helper.js';
import { freePort } from '../../src/platform/throwaway-postgres.js';
import { testSecrets } from './test-secrets.js';

export interface ServerProcess {
  url: string;
  /** Its installation's STRATA_DB_PREFIX. */
  prefix: string;
  child: ChildProcess;
  /** Its stdout and stderr so far. */
  output(): string;
  /** Resolves with its exit code (null when killed by a signal) once it has exited. */
  exited: Promise<number | null>;
  /** From spawn to the first 200 of /healthz. */
  readyMs: number;
}

export interface ServerProcessOptions {
  /** Node arguments; default `dist/server.js`. */
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export async function startServerProcess(t: Test, { args = ['dist/server.js'], cwd, env = {} }: ServerProcessOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const prefix = installationPrefix();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: {
      PATH: process.env.PATH,
      ...testSecrets,
      DATABASE_URL: adminUrl(),
      STRATA_DB_PREFIX: prefix,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      STRATA_SPARE_SCHEMAS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await releaseInstallation(adminUrl(), prefix);
  });

  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 120_000; ; await sleep(100)) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before answering:\n${output}`);
    const status = await fetch(`${url}/healthz`).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`the server did not answer /healthz within 120 s:\n${output}`);
  }
  return { url, prefix, child, output: () => output, exited, readyMs: Math.round(performance.now() - started) };
}
