/**
 * A private Redis (`redis-server`, no persistence) on a free loopback port, for tests that inspect
 * every key the app writes or take Redis away mid-run; never the shared one. Killed at test end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Test } from 'tap';
import { freePort } from '../../src/platform/throwaway-postgres.js';

export interface RedisServer {
  url: string;
  /** A plain client of this server, for inspection. */
  client(): Redis;
  /** Kills the server at once (SIGKILL): a crash, not a shutdown. */
  kill(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  start(): Promise<void>;
}

export async function startRedisServer(t: Test): Promise<RedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const clients: Redis[] = [];

  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.ref(); // its exit must be awaited even in a teardown, when nothing else keeps the process up
    running.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    // tap runs a file's teardowns once its event loop is idle: a referenced child would keep it busy forever.
    child.unref();
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      for (const deadline = Date.now() + 10_000; ; await sleep(50)) {
        if (child.exitCode !== null) throw new Error(`redis-server exited at start (port ${port})`);
        if (
          (await probe.connect().then(
            () => probe.ping(),
            () => undefined,
          )) === 'PONG'
        )
          break;
        probe.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
      }
    } finally {
      probe.disconnect();
    }
  };
  t.teardown(async () => {
    for (const c of clients) c.disconnect();
    await kill();
  });
  await start();
  return {
    url,
    client() {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    kill,
    start,
  };
}
