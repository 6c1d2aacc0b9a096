// Graceful shutdown of the real process (`node dist/server.js`): on SIGTERM it refuses new
// connections, lets the request in flight finish, closes everything and exits 0 with a clean log;
// a second signal or the deadline (STRATA_SHUTDOWN_TIMEOUT_MS) ends it at once.
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t, { type Test } from 'tap';
import { adminUrl } from '../helper.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { testSecrets } from '../support/test-secrets.js';

const json = { 'content-type': 'application/json' };

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A pooled tenant with its first owner, made and logged in through the API; returns that owner's access token. */
async function ownerToken(server: ServerProcess) {
  const admin = await post(`${server.url}/admin/auth/login`, { email: 'admin@strata.local', password: testSecrets.STRATA_ADMIN_PASSWORD });
  const created = (await post(
    `${server.url}/admin/tenants`,
    { slug: 'slow', name: 'Slow', plan: 'free', owner: { email: 'owner@slow.example', name: 'Owner' } },
    { authorization: `Bearer ${admin.accessToken}` },
  )) as { owner: { password: string } };
  const login = await post(`${server.url}/auth/login`, { email: 'owner@slow.example', password: created.owner.password });
  return login.accessToken as string;
}

/**
 * Starts `GET /leads` and keeps it in flight: the pooled leads table is locked first, and the
 * request is seen waiting for that lock. `release()` lets it finish.
 */
async function slowRequest(t: Test, server: ServerProcess) {
  const token = await ownerToken(server);
  const locker = new pg.Client({ connectionString: adminUrl().replace(/\/[^/?]*(\?|$)/, `/${server.prefix}_tenants$1`) });
  await locker.connect();
  t.teardown(() => locker.end());
  await locker.query('BEGIN; LOCK TABLE public.leads IN ACCESS EXCLUSIVE MODE');
  const response = fetch(`${server.url}/leads`, { headers: { authorization: `Bearer ${token}` } });
  let answered: Response | undefined;
  void response.then(
    (res) => (answered = res),
    () => undefined,
  );
  // A statement being parsed shows its lock wait but not yet its text, so any lock wait counts.
  for (;;) {
    if (answered) throw new Error(`GET /leads answered ${answered.status} instead of waiting: ${await answered.text()}`);
    const { rowCount } = await locker.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if (rowCount) break;
    await sleep(50);
  }
  return { response, release: () => locker.query('COMMIT') };
}

/** A request on a new connection: its status, or the connection error's code. */
function freshRequest(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    request(`${url}/healthz`, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    })
      .on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
      .end();
  });
}

async function logged(server: ServerProcess, message: string) {
  while (!server.output().includes(message)) await sleep(20);
}

const errorLines = (output: string) => output.split('\n').filter((line) => /"level":(50|60)|"stack"|\n\s+at /.test(line));

t.test('SIGTERM: the request in flight completes, new connections are refused, exit 0 with a clean log', async (t) => {
  const server = await startServerProcess(t, { env: { STRATA_SHUTDOWN_TIMEOUT_MS: '60000' } });
  const slow = await slowRequest(t, server);
  server.child.kill('SIGTERM');
  await logged(server, '"msg":"shutting down"');
  await sleep(200);
  t.equal(await freshRequest(server.url), 'ECONNREFUSED', 'a new connection is refused while shutting down');
  t.equal(server.child.exitCode, null, 'still running while a request is in flight');

  await slow.release();
  const signalled = performance.now();
  const response = await slow.response;
  t.equal(response.status, 200, 'the request in flight completed');
  t.same(((await response.json()) as { items: unknown[] }).items, []);
  t.equal(await server.exited, 0, 'exited 0');
  t.ok(performance.now() - signalled < 30_000, 'well within the deadline');
  t.match(server.output(), /"msg":"shut down"/);
  t.same(errorLines(server.output()), [], 'no error and no stack in the log');
});

t.test('a second SIGTERM exits at once, without waiting for the request in flight', async (t) => {
  const server = await startServerProcess(t, { env: { STRATA_SHUTDOWN_TIMEOUT_MS: '60000' } });
  const slow = await slowRequest(t, server);
  server.child.kill('SIGTERM');
  await logged(server, '"msg":"shutting down"');
  const second = performance.now();
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 1, 'exited 1');
  t.ok(performance.now() - second < 5_000, `exited ${Math.round(performance.now() - second)} ms after the second signal`);
  t.match(server.output(), /second signal/);
  await slow.release();
});

t.test('a shutdown stuck on a request in flight ends at STRATA_SHUTDOWN_TIMEOUT_MS', async (t) => {
  const server = await startServerProcess(t, { env: { STRATA_SHUTDOWN_TIMEOUT_MS: '1500' } });
  const slow = await slowRequest(t, server);
  const signalled = performance.now();
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 1, 'exited 1');
  const took = performance.now() - signalled;
  t.ok(took >= 1500 && took < 10_000, `exited after ${Math.round(took)} ms`);
  t.match(server.output(), /shutdown did not finish within STRATA_SHUTDOWN_TIMEOUT_MS/);
  await slow.release();
});
