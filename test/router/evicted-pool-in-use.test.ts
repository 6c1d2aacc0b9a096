// Regression: evicting a pool (STRATA_MAX_POOLS, STRATA_CONNECTION_BUDGET) closed it under the
// statements using it. One queued for its connection waited out the connection timeout, one that
// had just resolved it failed with "Cannot use a pool after calling end on the pool", and the
// newcomer's connections opened beside the evicted pool's, beyond the budget. An evicted pool now
// takes no new work and closes when its last user leaves; the newcomer waits for the room.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { PoolRegistry } from '../../src/router/pool-registry.js';
import { TenantRouter } from '../../src/router/tenant-router.js';
import { TenantPoolBusyError } from '../../src/router/tenant-sql.js';
import { provision, startTestPlatform } from '../helper.js';
import { watchRuntimeConnections } from '../support/runtime-connections.js';

const platform = await startTestPlatform(t);
const tenants = [
  await provision(platform, 'dedicated', 'first'),
  await provision(platform, 'dedicated', 'second'),
  await provision(platform, 'dedicated', 'third'),
];
// Only the router below connects to these databases.
for (const tenant of tenants) await platform.router.closeDatabase(tenant.serverId, tenant.databaseName);
const databases = tenants.map((tenant) => tenant.databaseName);

const waitMs = 1500;
// Room for two one-connection pools: a third database needs one of them closed.
const registry = new PoolRegistry(
  { poolMax: 1, dedicatedPoolMax: 1, maxPools: 2, connectionBudget: 2, connectionWaitMs: waitMs },
  (id) => platform.servers.byId(id),
  pino({ level: 'silent' }),
);
const router = new TenantRouter({ registry, connectionWaitMs: waitMs });
t.teardown(() => router.close());
const [first, second, third] = tenants.map((tenant) => router.clientFor(tenant)) as [
  ReturnType<typeof router.clientFor>,
  ReturnType<typeof router.clientFor>,
  ReturnType<typeof router.clientFor>,
];

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 400 && !check(); i++) await sleep(10);
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

/** A transaction on `db` that holds its connection until `release` is called. */
function heldTransaction(db: typeof first, name: string) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let holding = false;
  const done = db.$transaction(
    async (tx) => {
      const lead = await tx.lead.create({ data: { name } });
      holding = true;
      await gate;
      return lead;
    },
    { timeout: 30_000 },
  );
  return { done, release, holding: () => holding };
}

/** How a promise ended, to compare with t.same; marks `settled` when it does. */
let settled = false;
const outcome = <T>(promise: Promise<T>) =>
  promise
    .then(
      (value) => ({ value }),
      (err: unknown) => ({ error: (err as Error).message }),
    )
    .finally(() => (settled = true));

t.test('a statement and a transaction queued on a pool while it is evicted complete, within the connection budget', async (t) => {
  const stop = await watchRuntimeConnections(t, platform, databases);
  const holder = heldTransaction(first, 'held while evicted');
  await until(holder.holding, 'the first tenant holds its only connection');
  const [firstPool] = registry.openPools();

  settled = false;
  const queuedStatement = outcome(first.lead.count());
  const queuedTransaction = outcome(first.$transaction(async (tx) => tx.lead.findMany({ select: { name: true } })));
  await until(() => firstPool!.waitingCount === 2, 'both wait for that connection');

  const other = heldTransaction(second, 'keeps the second pool busy');
  await until(other.holding, 'the second pool is busy too');

  // A third database: the least recently used pool (the first) is evicted while it is in use.
  settled = false;
  const newcomer = outcome(third.lead.count());
  await until(() => !registry.openPools().includes(firstPool!), 'the first pool is evicted');
  await sleep(200);
  t.notOk(settled, 'the newcomer waits for room while the evicted pool still has users');

  holder.release();
  t.same(await outcome(holder.done.then((lead) => lead.name)), { value: 'held while evicted' }, 'the holding transaction commits');
  t.same(await queuedStatement, { value: 1 }, 'the queued statement runs, after the commit');
  t.same(await queuedTransaction, { value: [{ name: 'held while evicted' }] }, 'the queued transaction runs');
  t.same(await newcomer, { value: 0 }, 'the newcomer is served once the evicted pool has closed');
  t.equal(firstPool!.totalCount, 0, 'the evicted pool closed its connection');

  other.release();
  t.same(await outcome(other.done.then((lead) => lead.name)), { value: 'keeps the second pool busy' });
  t.ok((await stop()) <= 2, 'never more runtime connections than the budget');
  t.equal(await first.lead.count(), 1, 'the evicted tenant is served again (its pool reopened)');
});

t.test('with every pool busy and the budget spent, a newcomer waits the connection wait, then is told busy; the busy ones complete', async (t) => {
  const stop = await watchRuntimeConnections(t, platform, databases);
  const holders = [heldTransaction(first, 'busy one'), heldTransaction(second, 'busy two')];
  for (const holder of holders) await until(holder.holding, 'both pools are busy');

  const started = performance.now();
  const err = await third.$rows('SELECT count(*) FROM leads').catch((e: unknown) => e);
  const waited = performance.now() - started;
  t.type(err, TenantPoolBusyError, 'the newcomer is told the pools are busy');
  t.ok(waited >= waitMs * 0.9 && waited < waitMs + 5_000, `it waited ${Math.round(waited)} ms (configured ${waitMs})`);

  for (const holder of holders) holder.release();
  t.same(
    await Promise.all(holders.map((h) => outcome(h.done.then((lead) => lead.name)))),
    [{ value: 'busy one' }, { value: 'busy two' }],
    'the busy transactions commit',
  );
  t.same(await third.$rows<{ n: number }>('SELECT count(*)::int AS n FROM leads'), [{ n: 0 }], 'the newcomer is served once a pool is free');
  t.ok((await stop()) <= 2, 'never more runtime connections than the budget');
});
