// Regression: an evicted pool gave its room in the connection budget back when pg-pool's end()
// settled, which is when it has asked its connections to end, not when their server sessions are
// gone. The next pool's connection opened beside a session still exiting: PostgreSQL saw one more
// runtime session than STRATA_CONNECTION_BUDGET (13 of 12 in busy-dedicated-tenants.test.ts).
// Here the evicted pool's server process is stopped (SIGSTOP) so its session cannot end until
// resumed: the next pool must wait for it.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { PoolRegistry } from '../../src/router/pool-registry.js';
import { TenantRouter } from '../../src/router/tenant-router.js';
import { provision, startTestPlatform } from '../helper.js';

const platform = await startTestPlatform(t);
const tenants = [await provision(platform, 'dedicated', 'left'), await provision(platform, 'dedicated', 'right')];
for (const tenant of tenants) await platform.router.closeDatabase(tenant.serverId, tenant.databaseName);
const databases = tenants.map((tenant) => tenant.databaseName);

// Room for one one-connection pool: a statement on the other database evicts the open pool.
const registry = new PoolRegistry(
  { poolMax: 1, dedicatedPoolMax: 1, maxPools: 1, connectionBudget: 1, connectionWaitMs: 10_000 },
  (id) => platform.servers.byId(id),
  pino({ level: 'silent' }),
);
const router = new TenantRouter({ registry, connectionWaitMs: 10_000 });
t.teardown(() => router.close());
const [left, right] = tenants.map((tenant) => router.clientFor(tenant)) as [ReturnType<typeof router.clientFor>, ReturnType<typeof router.clientFor>];

const sessionsSeen = async (db: typeof left) =>
  (await db.$rows<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = current_user AND datname = ANY($1::text[])', [databases]))[0]!
    .n;

t.test('a pool opened after an eviction waits until the evicted pool’s session has ended', async (t) => {
  const [{ pid }] = (await left.$rows<{ pid: number }>('SELECT pg_backend_pid() AS pid', [])) as [{ pid: number }];
  // Only a server process of this machine may be stopped (the embedded server, or CI's local one).
  const local = (() => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('postgres');
    } catch {
      return false;
    }
  })();
  if (!local) {
    if (process.env.CI === 'true') throw new Error(`session ${pid} is not a PostgreSQL process of this machine: required under CI`);
    t.plan(0, 'needs the PostgreSQL server on this machine (Linux /proc) to pause one of its sessions');
    return;
  }
  process.kill(pid, 'SIGSTOP');
  let resumed = false;
  const resume = () => {
    if (!resumed) process.kill(pid, 'SIGCONT');
    resumed = true;
  };
  t.teardown(resume);
  const pause = sleep(400).then(resume);
  const started = performance.now();
  const seen = await sessionsSeen(right);
  const waited = performance.now() - started;
  await pause;
  t.equal(seen, 1, 'the new pool’s statement sees its own session only (budget 1)');
  t.ok(waited >= 300, `its connection waited for the stopped session to end (${Math.round(waited)} ms)`);
  t.equal(await sessionsSeen(left), 1, 'and back: one session again');
});
